//! What the session check costs every request that carries a cookie:
//!
//! - `session_check/<backend>`: resolving a cookie token to its session
//!   and user in the store (one indexed join), on a SQLite file and, when
//!   `cargo xtask bench` provides a server, on PostgreSQL;
//! - `session_check/sqlite_native_query`: the same SELECT on sqlx's own
//!   SQLite pool instead of the store's `Any` pool, without the expiry
//!   logic: what the driver costs and what `Any` adds;
//! - `layer/*`: a trivial axum route without the session layer, with it and
//!   no cookie, and with it and a valid cookie: the layer's overhead.
//!
//! Run through `cargo xtask bench` (which reads criterion's estimates into
//! its report) or alone: `cargo bench -p shared-auth --features server`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up failing is a bench failure

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use contracts::cookie::SESSION as COOKIE_NAME;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode, header};
use shared_auth::auth::{Auth, session_layer};
use shared_auth::config::{AuthConfig, SessionMode};
use shared_auth::store::testing::TestDb;
use shared_auth::store::{Backend, SessionPolicy, Store};
use shared_auth::token::hash;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// Long enough that no lookup in a run extends the session (no writes):
/// the read path every request takes.
const POLICY: SessionPolicy = SessionPolicy {
    ttl: Duration::from_secs(86_400),
    max_age: Duration::from_secs(30 * 86_400),
};

/// A signed-in user's cookie token in `store`.
async fn session_token(store: &Store) -> String {
    let user = store
        .find_or_create_user("bench#ada", "ada")
        .await
        .expect("create the bench user");
    store
        .create_session(&user.id, Some("bench"), POLICY)
        .await
        .expect("create the bench session")
        .token
}

fn session_check(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let databases = [
        Some(TestDb::sqlite()),
        runtime.block_on(TestDb::postgres("session_check bench")),
    ];
    let mut group = c.benchmark_group("session_check");
    for db in databases.into_iter().flatten() {
        let store = runtime.block_on(db.migrated());
        let token = runtime.block_on(session_token(&store));
        group.bench_function(db.backend.name(), |b| {
            b.to_async(&runtime).iter(|| async {
                let found = store.validate_session(&token, POLICY).await;
                assert!(matches!(found, Ok(Some(_))), "the session must resolve");
            });
        });
        runtime.block_on(store.close());
        if db.backend == Backend::Sqlite {
            native_sqlite_query(&mut group, &runtime, &db.url, &token);
        }
    }
    group.finish();
}

/// Session columns, then the user's name and display name.
type SessionRow = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    String,
    String,
);

/// The store's lookup query on a plain `SqlitePool` (same file, same
/// journal mode), for comparison with the `Any` pool the store uses.
fn native_sqlite_query(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
    url: &str,
    token: &str,
) {
    let pool = runtime
        .block_on(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::query("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
                            .execute(conn)
                            .await
                            .map(|_| ())
                    })
                })
                .connect(url),
        )
        .expect("open the SQLite file natively");
    let token_hash = hash(token);
    group.bench_function("sqlite_native_query", |b| {
        b.to_async(runtime).iter(|| async {
            let row: Option<SessionRow> = sqlx::query_as(
                "SELECT s.id, s.user_id, s.created_at, s.expires_at, s.absolute_expires_at,
                            s.last_seen_at, s.user_agent, u.username, u.display_name
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = $1",
            )
            .bind(&token_hash)
            .fetch_optional(&pool)
            .await
            .expect("query");
            assert!(row.is_some(), "the session must be found");
        });
    });
    runtime.block_on(pool.close());
}

fn layer(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let db = TestDb::sqlite();
    let store = runtime.block_on(db.migrated());
    let token = runtime.block_on(session_token(&store));
    let config = AuthConfig {
        database_url: db.url.clone(),
        database_wait_secs: 0,
        public_origin: "http://localhost:8080".into(),
        session_ttl_secs: POLICY.ttl.as_secs(),
        session_max_age_secs: POLICY.max_age.as_secs(),
        cookie_secure: None,
        session_mode: SessionMode::Store,
        identity_internal_url: "http://127.0.0.1:3001".into(),
    };
    let bare: Router = Router::new().route("/ping", get(|| async { "pong" }));
    let layered = bare.clone().layer(axum::middleware::from_fn_with_state(
        Auth::new(store, config),
        session_layer,
    ));
    let cookie = format!("{COOKIE_NAME}={token}");
    let cases = [
        ("no_layer", &bare, None),
        ("anonymous", &layered, None),
        ("signed_in", &layered, Some(cookie.as_str())),
    ];
    let mut group = c.benchmark_group("layer");
    for (name, router, cookie) in cases {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let mut request = Request::get("/ping");
                if let Some(cookie) = cookie {
                    request = request.header(header::COOKIE, cookie);
                }
                let response = router
                    .clone()
                    .oneshot(request.body(Body::empty()).expect("request"))
                    .await
                    .expect("infallible");
                assert_eq!(response.status(), StatusCode::OK);
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = session_check, layer
}
criterion_main!(benches);
