//! The test app the layer tests share: a router with the session layer,
//! the guards and a few handlers (who am I, sign in, sign out, rotate),
//! over a SQLite store in a temporary folder.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses a part

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use contracts::{User, Zone};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use shared_auth::auth::{
    Auth, CurrentSession, MaybeUser, RequireUser, found_external, me, session_layer,
};
use shared_auth::config::{AuthConfig, SessionMode};
use shared_auth::guard::{keep_location_on_origin, refuse_cross_site};
use shared_auth::store::Store;
use tower::ServiceExt as _;

pub struct App {
    pub _dir: tempfile::TempDir,
    pub auth: Auth,
}

impl App {
    pub async fn new(ttl_secs: u64) -> Self {
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

    pub fn router(&self) -> Router {
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
            .route("/reissue", get(reissue))
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

    pub async fn signed_in(&self, name: &str) -> (User, String) {
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

    pub async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, http::HeaderMap, String) {
        let cookie = token.map(|token| format!("auth.session-token={token}"));
        self.send(Request::get(path), cookie.as_deref()).await
    }

    pub async fn send(
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
    headers: http::HeaderMap,
) -> Response {
    auth.sign_out(&current, &headers)
        .await
        .unwrap()
        .respond("signed out")
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

/// What identity does after a profile change: a new session token for the
/// same session, set on the response (its value does not matter here).
async fn reissue(State(auth): State<Auth>) -> Response {
    let cookie = auth.config().cookies().session_jwt("reissued", 300);
    ([(header::SET_COOKIE, cookie)], "reissued").into_response()
}

/// The session token a response hands to the browser, if it sets one.
pub fn new_token(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("auth.session-token="))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .filter(|token| !token.is_empty())
}
