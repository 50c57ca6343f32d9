//! The session layer and extractors on a real router (no socket): cookie
//! resolution, 401 JSON for APIs, renewal and clearing of the cookie,
//! duplicate cookies, private caching of signed-in responses, the `/…/me`
//! contract, and the guard layers (cross-site writes, off-origin redirects).

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use contracts::{User, Zone};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use jsonwebtoken::jwk::JwkSet;
use shared_auth::auth::{
    Auth, CurrentSession, MaybeUser, RequireUser, found_external, me, session_layer,
};
use shared_auth::config::{AuthConfig, SessionMode};
use shared_auth::guard::{keep_location_on_origin, refuse_cross_site};
use shared_auth::session_token::{Claims, JwksCache, SigningKey};
use shared_auth::store::{RevocationFeed, Store};
use shared_auth::token_trust::TokenTrust;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

struct App {
    _dir: tempfile::TempDir,
    auth: Auth,
}

impl App {
    async fn new(ttl_secs: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("s.sqlite").display()
        ))
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let config = AuthConfig {
            database_url: String::new(),
            database_wait_secs: 0,
            public_origin: "http://localhost:8080".into(),
            session_ttl_secs: ttl_secs,
            session_max_age_secs: 86_400,
            cookie_secure: None,
            session_mode: SessionMode::Store,
            identity_internal_url: "http://127.0.0.1:3001".into(),
        };
        Self {
            _dir: dir,
            auth: Auth::new(store, config),
        }
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/api/me", get(|user| me(Zone::Public, user)))
            .route(
                "/private",
                get(|RequireUser(user): RequireUser| async move { user.username }),
            )
            .route(
                "/maybe",
                get(|MaybeUser(user): MaybeUser| async move {
                    user.map_or("anonymous".to_owned(), |u| u.username)
                }),
            )
            .route("/api/write", post(|| async { "written" }))
            .route("/sign-in/{name}", get(sign_in_as))
            .route("/sign-out", get(sign_out))
            .route("/rotate", get(rotate))
            .route(
                "/api/referer-redirect",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "https://evil.example/phish")],
                    )
                        .into_response()
                }),
            )
            .route(
                "/to-provider",
                get(|| async { found_external("https://idp.example/authorize?x=1") }),
            )
            .with_state(self.auth.clone())
            .layer(axum::middleware::map_response_with_state(
                self.auth.clone(),
                keep_location_on_origin,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.auth.clone(),
                session_layer,
            ))
            .layer(axum::middleware::from_fn_with_state(
                self.auth.clone(),
                refuse_cross_site,
            ))
    }

    async fn signed_in(&self, name: &str) -> (User, String) {
        let user = self
            .auth
            .store()
            .find_or_create_user(&format!("t#{name}"), name)
            .await
            .unwrap();
        let new = self
            .auth
            .store()
            .create_session(&user.id, None, self.auth.policy())
            .await
            .unwrap();
        (user, new.token)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, http::HeaderMap, String) {
        let cookie = token.map(|token| format!("auth.session-token={token}"));
        self.send(Request::get(path), cookie.as_deref()).await
    }

    async fn send(
        &self,
        mut request: http::request::Builder,
        cookie: Option<&str>,
    ) -> (StatusCode, http::HeaderMap, String) {
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = self
            .router()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (parts.status, parts.headers, body)
    }
}

/// Identity's use of the session changes, reduced to one line each.
async fn sign_in_as(
    State(auth): State<Auth>,
    Extension(current): Extension<CurrentSession>,
    Path(name): Path<String>,
) -> Response {
    let user = auth
        .store()
        .find_or_create_user(&format!("t#{name}"), &name)
        .await
        .unwrap();
    let (_, change) = auth.sign_in(&current, &user, None).await.unwrap();
    change.respond("signed in")
}

async fn sign_out(
    State(auth): State<Auth>,
    Extension(current): Extension<CurrentSession>,
) -> Response {
    auth.sign_out(&current).await.unwrap().respond("signed out")
}

async fn rotate(
    State(auth): State<Auth>,
    Extension(current): Extension<CurrentSession>,
) -> Response {
    match auth.rotate(&current, None).await.unwrap() {
        Some((_, change)) => change.respond("rotated"),
        None => (StatusCode::UNAUTHORIZED, "anonymous").into_response(),
    }
}

/// The session token a response hands to the browser, if it sets one.
fn new_token(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("auth.session-token="))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .filter(|token| !token.is_empty())
}

#[tokio::test]
async fn signing_in_ends_the_session_the_browser_had() {
    let app = App::new(3600).await;
    let (_, planted) = app.signed_in("mallory").await;
    let (status, headers, _) = app.get("/sign-in/alice", Some(&planted)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    let fresh = new_token(&headers).expect("a new session cookie");
    assert_ne!(fresh, planted);
    assert_eq!(app.get("/maybe", Some(&fresh)).await.2, "alice");
    assert_eq!(app.get("/maybe", Some(&planted)).await.2, "anonymous");
}

#[tokio::test]
async fn signing_out_ends_the_session_for_every_zone_and_clears_the_cookie() {
    let app = App::new(3600).await;
    let (_, token) = app.signed_in("alice").await;
    let (status, headers, _) = app.get("/sign-out", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    let cleared: Vec<&str> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    for name in ["auth.session-token", "auth.session-jwt"] {
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0")),
            "{name} is cleared: {cleared:?}"
        );
    }
    assert_eq!(app.get("/maybe", Some(&token)).await.2, "anonymous");
    // Signing out anonymously only clears the cookie.
    let (status, headers, _) = app.get("/sign-out", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(new_token(&headers), None);
}

#[tokio::test]
async fn rotation_keeps_the_user_and_retires_the_old_token() {
    let app = App::new(3600).await;
    let (_, old) = app.signed_in("alice").await;
    let (status, headers, _) = app.get("/rotate", Some(&old)).await;
    assert_eq!(status, StatusCode::OK);
    let new = new_token(&headers).expect("a new session cookie");
    assert_ne!(new, old);
    assert_eq!(app.get("/maybe", Some(&new)).await.2, "alice");
    assert_eq!(app.get("/maybe", Some(&old)).await.2, "anonymous");
    assert_eq!(app.get("/rotate", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rotation_never_stretches_the_absolute_lifetime() {
    let app = App::new(3600).await;
    let (user, _) = app.signed_in("alice").await;
    let policy = app.auth.policy();
    let old = app
        .auth
        .store()
        .create_session(&user.id, None, policy)
        .await
        .unwrap()
        .session;
    // As if signed in long ago: ten minutes of absolute lifetime are left.
    let near_end = shared_auth::store::Session {
        absolute_expires_at: shared_auth::store::now() + 600,
        ..old
    };
    let new = app
        .auth
        .store()
        .replace_session(&near_end, None, policy)
        .await
        .unwrap()
        .session;
    assert_eq!(new.user_id, user.id);
    assert_ne!(new.id, near_end.id);
    assert_eq!(new.absolute_expires_at, near_end.absolute_expires_at);
    assert!(new.expires_at <= near_end.absolute_expires_at);
    assert!(new.remaining_secs() <= 600, "{new:?}");
}

#[tokio::test]
async fn anonymous_requests_are_anonymous_and_apis_say_401() {
    let app = App::new(3600).await;
    assert_eq!(app.get("/maybe", None).await.2, "anonymous");
    let (status, headers, body) = app.get("/private", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, r#"{"error":"unauthenticated"}"#);
    assert_eq!(
        app.get("/api/me", None).await.2,
        r#"{"authenticated":false,"zone":"public","user":null}"#
    );
}

#[tokio::test]
async fn a_valid_cookie_is_the_user_everywhere() {
    let app = App::new(3600).await;
    let (user, token) = app.signed_in("alice").await;
    assert_eq!(app.get("/maybe", Some(&token)).await.2, "alice");
    let (status, headers, body) = app.get("/private", Some(&token)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice"));
    assert!(
        headers.get(header::SET_COOKIE).is_none(),
        "no renewal needed yet"
    );
    let (_, headers, body) = app.get("/api/me", Some(&token)).await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    assert_eq!(
        body,
        format!(
            r#"{{"authenticated":true,"zone":"public","user":{{"id":"{}","username":"alice"}}}}"#,
            user.id
        )
    );
}

#[tokio::test]
async fn an_unknown_cookie_is_cleared() {
    let app = App::new(3600).await;
    let (status, headers, _) = app
        .get("/private", Some("abcdefghijklmnopqrstuvwxyz012345"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let cleared = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("auth.session-token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn a_session_past_half_life_gets_a_fresh_cookie() {
    let app = App::new(3600).await;
    let (_, token) = app.signed_in("alice").await;
    // The same store under a longer idle lifetime: the session is now past
    // half of it, so the layer extends it and re-issues the cookie.
    let longer = App {
        _dir: tempfile::tempdir().unwrap(),
        auth: Auth::new(
            app.auth.store().clone(),
            AuthConfig {
                session_ttl_secs: 10_000,
                ..app.auth.config().clone()
            },
        ),
    };
    let (status, headers, _) = longer.get("/private", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("auth.session-token={token};")),
        "{cookie}"
    );
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age > 9_000, "{cookie}");
}

#[tokio::test]
async fn signed_in_responses_are_private_and_anonymous_ones_are_not() {
    let app = App::new(3600).await;
    let (_, token) = app.signed_in("alice").await;
    let (_, headers, _) = app.get("/maybe", Some(&token)).await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    let (_, headers, _) = app.get("/maybe", None).await;
    assert!(headers.get(header::CACHE_CONTROL).is_none(), "{headers:?}");
}

#[tokio::test]
async fn a_session_cookie_sent_twice_is_anonymous_and_not_cleared() {
    let app = App::new(3600).await;
    let (_, token) = app.signed_in("alice").await;
    for cookie in [
        format!("auth.session-token={token}; auth.session-token=abcdefghijklmnopqrstuvwxyz"),
        format!("auth.session-token=abcdefghijklmnopqrstuvwxyz; auth.session-token={token}"),
        format!("auth.session-token={token}; auth.session-token={token}"),
    ] {
        let (_, headers, body) = app.send(Request::get("/maybe"), Some(&cookie)).await;
        assert_eq!(body, "anonymous", "{cookie}");
        assert!(
            headers.get(header::SET_COOKIE).is_none(),
            "{cookie}: {headers:?}"
        );
    }
    // The real session survived the tossed cookie.
    assert_eq!(app.get("/maybe", Some(&token)).await.2, "alice");
}

#[tokio::test]
async fn cross_site_writes_are_refused_whatever_the_content_type() {
    let app = App::new(3600).await;
    for content_type in [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        for origin in [Some("https://evil.example"), Some("null"), None] {
            let mut request =
                Request::post("/api/write").header(header::CONTENT_TYPE, content_type);
            if let Some(origin) = origin {
                request = request.header(header::ORIGIN, origin);
            }
            let (status, _, body) = app.send(request, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{content_type} {origin:?}");
            assert_eq!(body, r#""CrossOrigin""#);
        }
    }
    let (status, _, body) = app
        .send(
            Request::post("/api/write")
                .header(header::ORIGIN, "https://evil.example")
                .header(header::ACCEPT, "text/html"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("did not come from this site"), "{body}");
    let same_origin = Request::post("/api/write").header(header::ORIGIN, "http://localhost:8080");
    assert_eq!(app.send(same_origin, None).await.2, "written");
    let fetch_metadata = Request::post("/api/write").header("sec-fetch-site", "same-origin");
    assert_eq!(app.send(fetch_metadata, None).await.2, "written");
    let cross_get = Request::get("/maybe").header(header::ORIGIN, "https://evil.example");
    assert_eq!(app.send(cross_get, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn redirects_stay_on_the_origin_unless_marked_for_the_provider() {
    let app = App::new(3600).await;
    let (status, headers, _) = app.get("/api/referer-redirect", None).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers[header::LOCATION], "/");
    let (_, headers, _) = app.get("/to-provider", None).await;
    assert_eq!(
        headers[header::LOCATION],
        "https://idp.example/authorize?x=1"
    );
}

/// Token mode: the layer with a JWKS served by a stand-in identity and a
/// revocation feed following this store.
async fn token_mode(follow: bool) -> (App, SigningKey) {
    let mut app = App::new(3600).await;
    let key = SigningKey::generate().unwrap();
    let set = JwkSet {
        keys: vec![key.jwk()],
    };
    let identity = Router::new().route(
        contracts::zone::SESSION_JWKS_PATH,
        get(move || {
            let set = set.clone();
            async move { axum::Json(set) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        contracts::zone::SESSION_JWKS_PATH
    );
    tokio::spawn(async move { axum::serve(listener, identity).await });
    let config = app.auth.config().clone();
    let jwks = JwksCache::new(&url, &config.token_issuer(), config.token_audience()).unwrap();
    jwks.fetch().await.unwrap();
    let feed = RevocationFeed::new();
    if follow {
        tokio::spawn(
            feed.clone()
                .follow(app.auth.store().clone(), Duration::from_millis(50)),
        );
        while !feed.is_current(Duration::from_secs(1)) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    app.auth = app
        .auth
        .clone()
        .with_token_trust(Arc::new(TokenTrust::new(jwks, feed)));
    (app, key)
}

fn session_jwt(app: &App, key: &SigningKey, user_id: &str, username: &str, sid: &str) -> String {
    let config = app.auth.config();
    let now = shared_auth::store::now();
    key.sign(&Claims {
        iss: config.token_issuer(),
        aud: config.token_audience().to_owned(),
        sub: user_id.into(),
        sid: sid.into(),
        name: username.to_uppercase(),
        username: username.into(),
        iat: now,
        exp: now + 300,
    })
    .unwrap()
}

async fn as_jwt(app: &App, path: &str, jwt: &str) -> (StatusCode, http::HeaderMap, String) {
    app.send(Request::get(path), Some(&format!("auth.session-jwt={jwt}")))
        .await
}

#[tokio::test]
async fn a_trusted_token_is_the_user_without_reading_the_store() {
    let (app, key) = token_mode(true).await;
    // No such user or session in the store: only the token can say who.
    let jwt = session_jwt(&app, &key, "u-ghost", "ghost", "s-ghost");
    let (status, headers, body) = as_jwt(&app, "/maybe", &jwt).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ghost"));
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    let me = as_jwt(&app, "/api/me", &jwt).await.2;
    assert_eq!(
        me,
        r#"{"authenticated":true,"zone":"public","user":{"id":"u-ghost","username":"ghost"}}"#
    );
}

#[tokio::test]
async fn a_revoked_sessions_token_is_refused_within_a_second() {
    let (app, key) = token_mode(true).await;
    let (user, _) = app.signed_in("alice").await;
    let session = app
        .auth
        .store()
        .create_session(&user.id, None, app.auth.policy())
        .await
        .unwrap()
        .session;
    let jwt = session_jwt(&app, &key, &user.id, "alice", &session.id);
    assert_eq!(as_jwt(&app, "/maybe", &jwt).await.2, "alice");
    let started = std::time::Instant::now();
    app.auth.store().delete_session(&session.id).await.unwrap();
    while as_jwt(&app, "/maybe", &jwt).await.2 != "anonymous" {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still trusted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("revoked token refused after {:?}", started.elapsed());
}

#[tokio::test]
async fn an_untrusted_token_falls_back_to_the_store() {
    let (app, key) = token_mode(true).await;
    let (user, cookie_token) = app.signed_in("alice").await;
    let good = session_jwt(&app, &key, &user.id, "alice", "s1");
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let stranger = SigningKey::generate().unwrap();
    let foreign = session_jwt(&app, &stranger, "u-mallory", "mallory", "s1");
    let oversize = format!("{}.{}", good, "A".repeat(5000));
    for bad in [
        tampered.as_str(),
        foreign.as_str(),
        oversize.as_str(),
        "not a jwt",
        "",
    ] {
        let (status, _, body) = as_jwt(&app, "/maybe", bad).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "anonymous"),
            "{bad:.40}"
        );
        // With the session cookie beside it, the store answers.
        let both = format!("auth.session-jwt={bad}; auth.session-token={cookie_token}");
        let (status, _, body) = app.send(Request::get("/maybe"), Some(&both)).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "alice"),
            "{bad:.40}"
        );
    }
    // Sent twice, the token counts as absent.
    let twice = format!("auth.session-jwt={good}; auth.session-jwt={good}");
    assert_eq!(
        app.send(Request::get("/maybe"), Some(&twice)).await.2,
        "anonymous"
    );
}

#[tokio::test]
async fn a_token_is_not_trusted_while_the_revocation_log_is_unread() {
    let (app, key) = token_mode(false).await;
    let jwt = session_jwt(&app, &key, "u-ghost", "ghost", "s-ghost");
    assert_eq!(as_jwt(&app, "/maybe", &jwt).await.2, "anonymous");
}
