//! The shared store: one SQL schema behind sqlx. Embedded SQLite by
//! default; the queries are written so a PostgreSQL pool can serve them too
//! (numbered `$n` parameters, BIGINT Unix times, `RETURNING`).

mod grants;
mod sessions;
mod users;

use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use sessions::{NewSession, Session, SessionPolicy, Validated};

/// The database this build talks to, and its pool.
pub type Db = sqlx::Sqlite;
/// A pool of connections to [`Db`]; zones run their own tables' queries on it.
pub type DbPool = sqlx::Pool<Db>;

/// The shared schema (users, sessions, grants), embedded at compile time.
///
/// Zones may own tables too (the shop's catalogue, carts and orders), each
/// with its own migration set in the same `_sqlx_migrations` table; every
/// set therefore ignores versions it does not know.
pub fn schema() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// Why the store failed. The message is for logs; users see a generic page.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported DATABASE_URL `{0}` (expected sqlite://path)")]
    UnsupportedUrl(String),
    #[error("cannot create the database folder {path}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the database schema is not up to date (missing migrations: {missing:?}); run `cargo xtask migrate` or the zone binary with --migrate"
    )]
    SchemaOutdated { missing: Vec<i64> },
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the shared database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: DbPool,
}

impl Store {
    /// Opens (and for SQLite, creates if missing) the database at `url`.
    /// SQLite runs in WAL mode with a busy timeout, so several processes
    /// can read and write the same file.
    pub async fn connect(url: &str) -> Result<Self> {
        let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let path = path.split('?').next().unwrap_or(path);
        if path != ":memory:"
            && let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// Applies every pending migration of the shared schema. Run this once
    /// per deployment, before the zones start (never from several
    /// processes at once).
    pub async fn migrate(&self) -> Result<()> {
        self.migrate_with(&schema()).await
    }

    /// Applies every pending migration of `migrator` (a zone's own tables).
    pub async fn migrate_with(&self, migrator: &Migrator) -> Result<()> {
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Fails unless every migration of the shared schema has been applied.
    pub async fn check_schema(&self) -> Result<()> {
        self.check_schema_of(&schema()).await
    }

    /// Fails unless every migration of `migrator` has been applied.
    pub async fn check_schema_of(&self, migrator: &Migrator) -> Result<()> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .unwrap_or_default();
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

    /// The connection pool, for a zone's queries on its own tables (never
    /// on users, sessions or grants: those go through `Store` methods).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Deletes expired sessions and grants; returns how many rows went.
    pub async fn delete_expired(&self) -> Result<u64> {
        let now = now();
        let sessions =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR absolute_expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        let grants = sqlx::query("DELETE FROM grants WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(sessions + grants)
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Now, in Unix seconds (the unit every table stores times in).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A `Duration` in whole seconds, as stored.
pub(crate) fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
