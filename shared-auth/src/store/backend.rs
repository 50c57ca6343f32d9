//! Which database a `DATABASE_URL` names, and how to open a pool on it.

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Connection as _, Executor as _};

use super::{Result, StoreError};

/// Connections each process keeps at most. Three zones with three
/// instances each stay well inside PostgreSQL's default of 100.
const MAX_CONNECTIONS: u32 = 8;

/// The databases the store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded file (`sqlite://path`): one machine, several processes.
    Sqlite,
    /// A server (`postgres://…`): many machines.
    Postgres,
}

impl Backend {
    /// The backend `url` names, or a clear error for anything else.
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Short lowercase name, for logs and test output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The URL to hand to sqlx: for SQLite the file's folder is created
    /// and the file is opened read-write-create.
    pub(super) fn prepare(self, url: &str) -> Result<String> {
        sqlx::any::install_default_drivers();
        let Some(file) = sqlite_file(url) else {
            return Ok(url.to_owned());
        };
        if let Some(dir) = Path::new(file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        Ok(if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        })
    }

    /// Pool settings. SQLite connections wait for each other's writes
    /// (busy timeout) and use WAL, so readers never block on a writer.
    pub(super) fn pool_options(self) -> AnyPoolOptions {
        let options = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5));
        match self {
            Self::Postgres => options,
            Self::Sqlite => options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    )
                    .await?;
                    conn.ping().await
                })
            }),
        }
    }
}

/// The file a SQLite URL names (without the scheme or query); `None` for
/// other databases and for `:memory:`.
pub(super) fn sqlite_file(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// Errors worth retrying at start: the server is not there (yet), is
/// starting up or is full, as opposed to a wrong URL or password.
pub(super) fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => true,
        // cannot_connect_now (starting or shutting down), too_many_connections,
        // connection_failure, sqlclient_unable_to_establish_sqlconnection.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| matches!(&*code, "57P03" | "53300" | "08006" | "08001")),
        _ => false,
    }
}

/// Whether `err` says the queried table does not exist (PostgreSQL:
/// `undefined_table`; SQLite: "no such table"), as on a database that was
/// never migrated.
pub(super) fn is_undefined_table(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("42P01") || db.message().starts_with("no such table")
        }
        _ => false,
    }
}

/// `url` with its password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            Backend::of_url("sqlite://data/s.sqlite").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("sqlite::memory:").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        let err = Backend::of_url("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mysql://u:***@h/db"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact_url("postgres://app:s3cr@t@db:5432/meridian?sslmode=require"),
            "postgres://app:***@db:5432/meridian?sslmode=require"
        );
        assert_eq!(redact_url("postgres://app@db/m"), "postgres://app@db/m");
        assert_eq!(
            redact_url("sqlite://data/x.sqlite"),
            "sqlite://data/x.sqlite"
        );
    }

    #[test]
    fn sqlite_files_are_opened_read_write_create() {
        let dir = std::env::temp_dir().join(format!("meridian-prepare-{}", std::process::id()));
        let url = format!("sqlite://{}/a/b.sqlite", dir.display());
        let prepared = Backend::Sqlite.prepare(&url).unwrap_or_default();
        assert_eq!(prepared, format!("{url}?mode=rwc"));
        assert!(dir.join("a").is_dir());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(sqlite_file("sqlite://x/y.db?mode=ro"), Some("x/y.db"));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
