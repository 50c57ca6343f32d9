//! The shared store: one SQL schema behind sqlx's `Any` driver, so the
//! same queries and the same migrations serve embedded SQLite (the
//! default, one machine) and PostgreSQL (`DATABASE_URL=postgres://…`, many
//! instances of every zone). The SQL is the common subset: numbered `$n`
//! parameters, BIGINT Unix times, `RETURNING`, `ON CONFLICT`.

mod backend;
mod grants;
mod migrate;
mod revocation_feed;
mod revocations;
mod sessions;
mod signing_keys;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use sqlx::migrate::Migrator;

pub use backend::{Backend, redact_url};
pub use revocation_feed::{RevocationFeed, RevocationSource};
pub use revocations::Revocations;
pub use sessions::{NewSession, Session, SessionPolicy, Validated};
pub use signing_keys::StoredKey;

/// The database driver every query runs on (SQLite or PostgreSQL, chosen
/// by the URL at run time).
pub type Db = sqlx::Any;
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
    #[error("unsupported DATABASE_URL `{0}` (expected sqlite://path or postgres://user@host/db)")]
    UnsupportedUrl(String),
    #[error("cannot create the database folder {path}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot take the migration lock {path}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the database schema is not up to date (missing migrations: {missing:?}); run `cargo xtask migrate` or the zone binary with --migrate"
    )]
    SchemaOutdated { missing: Vec<i64> },
    #[error("the database at {url} is unreachable (gave up after {waited:?}): {source}")]
    Unreachable {
        url: String,
        waited: Duration,
        source: sqlx::Error,
    },
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
    backend: Backend,
    /// For a SQLite file, the lock file migrations take turns on.
    migrate_lock: Option<Arc<str>>,
    /// For PostgreSQL, where followers of the revocation log `LISTEN`.
    listen_url: Option<Arc<str>>,
}

impl Store {
    /// Opens the database at `url`: `sqlite://path` (created if missing,
    /// WAL mode with a busy timeout, so several processes can share the
    /// file) or `postgres://…`. Fails at once when it cannot connect; see
    /// [`Store::connect_patiently`] for servers that must wait.
    pub async fn connect(url: &str) -> Result<Self> {
        let backend = Backend::of_url(url)?;
        let prepared = backend.prepare(url)?;
        let pool = backend.pool_options().connect(&prepared).await?;
        let migrate_lock =
            backend::sqlite_file(url).map(|file| format!("{file}.migrate-lock").into());
        let listen_url = (backend == Backend::Postgres).then(|| Arc::from(prepared.as_str()));
        Ok(Self {
            pool,
            backend,
            migrate_lock,
            listen_url,
        })
    }

    /// A store that opens its connections on first use: for a process
    /// that may never need one (the public zone in token mode). Only the
    /// URL is checked here.
    pub fn connect_lazy(url: &str) -> Result<Self> {
        let backend = Backend::of_url(url)?;
        let pool = backend.pool_options().connect_lazy(url)?;
        Ok(Self {
            pool,
            backend,
            migrate_lock: None,
            listen_url: None,
        })
    }

    /// Like [`Store::connect`], but a database that is not reachable yet
    /// (PostgreSQL still starting, a network blip) is retried with backoff
    /// for up to `patience`, logging every attempt; configuration errors
    /// (bad URL, bad password, no such database) fail at once.
    pub async fn connect_patiently(url: &str, patience: Duration) -> Result<Self> {
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            match Self::connect(url).await {
                Err(StoreError::Sqlx(err)) if backend::is_transient(&err) => {
                    let waited = started.elapsed();
                    if waited + delay > patience {
                        return Err(StoreError::Unreachable {
                            url: redact_url(url),
                            waited,
                            source: err,
                        });
                    }
                    tracing::warn!(
                        url = %redact_url(url),
                        attempt,
                        retry_in = ?delay,
                        "database unreachable ({err}); retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for a zone's queries on its own tables (never
    /// on users, sessions or grants: those go through `Store` methods).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Deletes expired sessions and grants; returns how many rows went.
    pub async fn delete_expired(&self) -> Result<u64> {
        let now = now();
        let sessions = self
            .end_sessions(
                sqlx::query_scalar(
                    "DELETE FROM sessions WHERE expires_at <= $1 OR absolute_expires_at <= $1
                     RETURNING id",
                )
                .bind(now),
            )
            .await?
            .len();
        let sessions = u64::try_from(sessions).unwrap_or(u64::MAX);
        self.delete_old_revocations().await?;
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
