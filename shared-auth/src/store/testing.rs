//! Test databases (feature `testing`): a fresh SQLite file in a temporary
//! folder, or a fresh database on the PostgreSQL server the test tooling
//! started (`cargo xtask test` exports its address as
//! [`POSTGRES_URL_VAR`]). Panics on set-up failures: it only runs in tests.

use std::io::Write as _;

use sqlx::{Connection as _, Executor as _};

use super::{Backend, Store};
use crate::token::{hash, random_token};

/// The admin URL of a PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "MERIDIAN_TEST_POSTGRES_URL";
/// Set to `1` to make [`TestDb::postgres`] (benchmarks) fail, not measure
/// SQLite only, when PostgreSQL is not available.
pub const REQUIRE_POSTGRES_VAR: &str = "MERIDIAN_REQUIRE_POSTGRES";
/// Which backend [`TestDb::from_env`] picks: `sqlite` (default) or `postgres`.
pub const BACKEND_VAR: &str = "MERIDIAN_TEST_BACKEND";

/// A private, empty database; dropped with the folder (SQLite) or left to
/// the throwaway server (PostgreSQL).
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new SQLite file (in a subfolder that does not exist yet).
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("db/test.sqlite").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
        }
    }

    /// A new database on the test PostgreSQL server. Panics when no server
    /// was provided ([`POSTGRES_URL_VAR`] unset): a PostgreSQL test that
    /// cannot reach PostgreSQL fails, it never passes. Such tests are
    /// `#[ignore]`d under plain `cargo test`; `cargo xtask test` starts a
    /// server, sets the variable and runs them.
    pub async fn postgres_required(test: &str) -> Self {
        let admin = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{test} runs on PostgreSQL, but {POSTGRES_URL_VAR} is not set: run \
                 `cargo xtask test` (it starts a throwaway server and sets it), or set it \
                 to the admin URL of a server this test may create databases on"
            )
        });
        Self::create_postgres(&admin).await
    }

    /// A new database on the test PostgreSQL server when one was provided,
    /// for benchmarks, which measure what is available: `None` (after a
    /// note on stderr) when [`POSTGRES_URL_VAR`] is unset, unless
    /// [`REQUIRE_POSTGRES_VAR`] is `1`. Tests use [`Self::postgres_required`].
    pub async fn postgres(test: &str) -> Option<Self> {
        if std::env::var(REQUIRE_POSTGRES_VAR).as_deref() == Ok("1") {
            return Some(Self::postgres_required(test).await);
        }
        let Ok(admin) = std::env::var(POSTGRES_URL_VAR) else {
            // Straight to stderr: the test harness would swallow eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "note: {test} not run on PostgreSQL ({POSTGRES_URL_VAR} is not set)"
            );
            return None;
        };
        Some(Self::create_postgres(&admin).await)
    }

    /// A fresh database on the server at `admin`.
    async fn create_postgres(admin: &str) -> Self {
        sqlx::any::install_default_drivers();
        let name = format!("t_{}", &hash(&random_token(16))[..20]);
        let mut conn = sqlx::AnyConnection::connect(admin)
            .await
            .unwrap_or_else(|err| panic!("cannot reach the test PostgreSQL server: {err}"));
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|err| panic!("cannot create database {name}: {err}"));
        let _ = conn.close().await;
        let (base, query) = match admin.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin, String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _db)| server);
        Self {
            url: format!("{server}/{name}{query}"),
            backend: Backend::Postgres,
            _dir: None,
        }
    }

    /// The backend [`BACKEND_VAR`] names (SQLite when unset), for suites
    /// that run once per backend under the test tooling. With `postgres`
    /// named and no server provided it panics, like
    /// [`Self::postgres_required`]: a test never passes on another backend
    /// than the one asked for.
    pub async fn from_env(test: &str) -> Self {
        match std::env::var(BACKEND_VAR).as_deref() {
            Ok("postgres") => Self::postgres_required(test).await,
            Ok("sqlite") | Err(_) => Self::sqlite(),
            Ok(other) => panic!("{BACKEND_VAR}={other}: expected sqlite or postgres"),
        }
    }

    /// A store on this database, unmigrated.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("cannot open {}: {err}", self.url))
    }

    /// A store on this database with the shared schema applied.
    pub async fn migrated(&self) -> Store {
        let store = self.connect().await;
        store.migrate().await.expect("migrate the test store");
        store
    }
}

/// "Sign out everywhere else" for a user of `store` with two sessions,
/// watched by `feed` (which must be following the log): the time until
/// the feed knows of the other session's end. Panics past one second, the
/// bound token mode promises; the kept session must not be reported.
pub async fn time_to_revoke_elsewhere(
    store: &Store,
    feed: &super::RevocationFeed,
) -> std::time::Duration {
    use std::time::{Duration, Instant};
    let policy = super::SessionPolicy {
        ttl: Duration::from_secs(3600),
        max_age: Duration::from_secs(86_400),
    };
    let user = store
        .find_or_create_user(&format!("idp#{}", random_token(8)), "revoker")
        .await
        .expect("a user");
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let new = store
            .create_session(&user.id, None, policy)
            .await
            .expect("a session");
        sessions.push(new.session.id);
    }
    let (here, there) = (&sessions[0], &sessions[1]);
    while !feed.is_current(Duration::from_secs(1)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    store
        .delete_user_sessions(&user.id, Some(here))
        .await
        .expect("sign out everywhere else");
    while !feed.is_revoked(there) {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the revocation did not reach the feed within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    assert!(!feed.is_revoked(here), "the kept session is not revoked");
    took
}
