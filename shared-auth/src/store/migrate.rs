//! Migrations as an explicit step, safe to run from several processes at
//! once: on PostgreSQL sqlx holds an advisory lock for the whole run; on
//! SQLite a lock file beside the database does the same. Zones only check
//! that the schema is current.

use std::fs::{File, OpenOptions};

use super::{Migrator, Result, Store, StoreError, backend, schema};

impl Store {
    /// Applies every pending migration of the shared schema.
    pub async fn migrate(&self) -> Result<()> {
        self.migrate_with(&schema()).await
    }

    /// Applies every pending migration of `migrator` (a zone's own tables).
    /// Concurrent runs wait for each other; the later ones find nothing
    /// left to do.
    pub async fn migrate_with(&self, migrator: &Migrator) -> Result<()> {
        let _lock = self.migration_lock().await?;
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Fails unless every migration of the shared schema has been applied.
    pub async fn check_schema(&self) -> Result<()> {
        self.check_schema_of(&schema()).await
    }

    /// Fails unless every migration of `migrator` has been applied: with
    /// [`StoreError::SchemaOutdated`] when some are missing (all of them
    /// on a database never migrated), with the database's own error when
    /// it cannot be read.
    pub async fn check_schema_of(&self, migrator: &Migrator) -> Result<()> {
        let applied: Vec<i64> =
            match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
            {
                Ok(applied) => applied,
                Err(err) if backend::is_undefined_table(&err) => Vec::new(),
                Err(err) => return Err(err.into()),
            };
        let missing: Vec<i64> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .filter(|version| !applied.contains(version))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::SchemaOutdated { missing })
        }
    }

    /// For a SQLite file, an exclusive lock on `<file>.migrate-lock`, held
    /// until the returned file is dropped. PostgreSQL needs none here: the
    /// migrator takes `pg_advisory_lock` itself.
    async fn migration_lock(&self) -> Result<Option<File>> {
        let Some(path) = self.migrate_lock.clone() else {
            return Ok(None);
        };
        let locked = tokio::task::spawn_blocking({
            let path = path.clone();
            move || {
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&*path)?;
                file.lock()?;
                Ok::<_, std::io::Error>(file)
            }
        })
        .await
        .map_err(|join| std::io::Error::other(join.to_string()))
        .and_then(|locked| locked);
        locked.map(Some).map_err(|source| StoreError::Lock {
            path: path.to_string(),
            source,
        })
    }
}
