//! What the session check costs every request that carries a cookie:
//!
//! - `session_check/<backend>`: resolving a cookie token to its session
//!   and user in the store (one indexed join), on a SQLite file and, when
//!   `cargo xtask bench` provides a server, on PostgreSQL;
//! - `session_check/sqlite_native_query`: the same SELECT on sqlx's own
//!   SQLite pool instead of the store's `Any` pool, without the expiry
//!   logic: what the driver costs and what `Any` adds;
//! - `session_check/token_cached`: token mode, what a signed-in request
//!   costs once its token has been verified (cookie parsing, the memory of
//!   verified tokens, the revocation log); `session_check/token_verify`:
//!   the signature and claims check of a token seen for the first time;
//! - `layer/*`: a trivial axum route without the session layer, with it and
//!   no cookie, with it and a valid session cookie (store mode), and with
//!   it and a session token (token mode): the layer's overhead.
//!
//! Run through `cargo xtask bench` (which reads criterion's estimates into
//! its report) or alone: `cargo bench -p shared-auth --features server`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up failing is a bench failure

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use std::sync::Arc;

use contracts::cookie::{SESSION as COOKIE_NAME, SESSION_JWT as JWT_COOKIE_NAME};
use contracts::zone::SESSION_JWKS_PATH;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode, header};
use shared_auth::auth::{Auth, session_layer};
use shared_auth::config::{AuthConfig, SessionMode};
use shared_auth::session_token::{JwksCache, Verifier};
use shared_auth::store::testing::TestDb;
use shared_auth::store::{Backend, RevocationFeed, SessionPolicy, Store, now};
use shared_auth::token::hash;
use shared_auth::token_issuer::{TokenIssuer, jwks_route};
use shared_auth::token_refresh::{Refresher, Refreshes};
use shared_auth::token_trust::{FEED_POLL, TokenTrust};
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

fn config(db: &TestDb, mode: SessionMode) -> AuthConfig {
    AuthConfig {
        database_url: db.url.clone(),
        database_wait_secs: 0,
        public_origin: "http://localhost:8080".into(),
        session_ttl_secs: POLICY.ttl.as_secs(),
        session_max_age_secs: POLICY.max_age.as_secs(),
        cookie_secure: None,
        session_mode: mode,
        identity_internal_url: "http://127.0.0.1:3001".into(),
    }
}

/// Token mode as a zone runs it: identity's JWKS fetched over a loopback
/// socket, the revocation log followed, and a signed-in user's token.
struct TokenMode {
    trust: Arc<TokenTrust>,
    verifier: Verifier,
    jwt: String,
}

async fn token_mode(db: &TestDb, store: &Store) -> TokenMode {
    let config = config(db, SessionMode::Token);
    let auth = Auth::new(store.clone(), config.clone());
    let issuer = TokenIssuer::new(&auth, Duration::from_secs(3600));
    let identity = Router::new()
        .route(SESSION_JWKS_PATH, get(jwks_route))
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}{SESSION_JWKS_PATH}",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, identity).await });
    let jwks =
        JwksCache::new(&url, &config.token_issuer(), config.token_audience()).expect("JWKS client");
    jwks.fetch().await.expect("fetch the JWKS");
    let feed = RevocationFeed::new();
    tokio::spawn(feed.clone().follow(store.clone(), FEED_POLL));
    while !feed.is_current(FEED_POLL) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let user = store
        .find_or_create_user("bench#ada", "ada")
        .await
        .expect("create the bench user");
    let session = store
        .create_session(&user.id, Some("bench"), POLICY)
        .await
        .expect("create the bench session")
        .session;
    let jwt = issuer.issue(&user, &session).await.expect("sign").jwt;
    let verifier = Verifier::new(
        &issuer.jwks().await.expect("the key set"),
        &config.token_issuer(),
        config.token_audience(),
    );
    let trust = TokenTrust::new(
        jwks,
        feed,
        Refreshes::new(Refresher::Local(issuer)),
        config.cookies(),
    );
    TokenMode {
        trust: Arc::new(trust),
        verifier,
        jwt,
    }
}

fn token_check(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let db = TestDb::sqlite();
    let store = runtime.block_on(db.migrated());
    let token = runtime.block_on(token_mode(&db, &store));
    let mut headers = http::HeaderMap::new();
    headers.insert(
        header::COOKIE,
        format!("{JWT_COOKIE_NAME}={}", token.jwt)
            .parse()
            .expect("a header value"),
    );
    let mut group = c.benchmark_group("session_check");
    group.bench_function("token_cached", |b| {
        b.to_async(&runtime).iter(|| async {
            let resolved = token.trust.resolve(&headers).await;
            assert!(
                resolved.current.user().is_some(),
                "the token must be trusted"
            );
        });
    });
    group.bench_function("token_verify", |b| {
        b.iter(|| {
            let claims = token.verifier.verify(&token.jwt, now());
            assert!(claims.is_ok(), "the token must verify");
        });
    });
    group.finish();
}

fn layer(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let db = TestDb::sqlite();
    let store = runtime.block_on(db.migrated());
    let token = runtime.block_on(session_token(&store));
    let auth = Auth::new(store.clone(), config(&db, SessionMode::Store));
    let bare: Router = Router::new().route("/ping", get(|| async { "pong" }));
    let layered = bare.clone().layer(axum::middleware::from_fn_with_state(
        auth.clone(),
        session_layer,
    ));
    let tokens = runtime.block_on(token_mode(&db, &store));
    let token_layered = bare.clone().layer(axum::middleware::from_fn_with_state(
        auth.with_token_trust(tokens.trust.clone()),
        session_layer,
    ));
    let cookie = format!("{COOKIE_NAME}={token}");
    let both = format!("{cookie}; {JWT_COOKIE_NAME}={}", tokens.jwt);
    let cases = [
        ("no_layer", &bare, None),
        ("anonymous", &layered, None),
        ("signed_in", &layered, Some(cookie.as_str())),
        ("signed_in_token", &token_layered, Some(both.as_str())),
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
    targets = session_check, token_check, layer
}
criterion_main!(benches);
