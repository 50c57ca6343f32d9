//! Test support for the zone crates (feature `testing`): a zone's real
//! router (pages, server functions, session layer) on a fresh store (SQLite,
//! or PostgreSQL when `MERIDIAN_TEST_BACKEND=postgres`),
//! signed-in users, and requests as a browser would send them, without a
//! socket. Panics on set-up failures: it only runs inside tests.

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use leptos::config::LeptosOptions;
use leptos::prelude::IntoView;
use serde::de::DeserializeOwned;
use shared_auth::auth::Auth;
use shared_auth::config::{AuthConfig, SessionMode};
use shared_auth::store::Store;
use shared_auth::store::testing::TestDb;
use tower::ServiceExt as _;

use contracts::Zone;
use contracts::zone::OUTPUT_NAME;

use crate::server::{NoExtra, PageOptions, ZoneApp, ZoneRoutes, router};

/// Leptos suppresses resource loading process-wide while it generates a
/// route list (leptos-rs/leptos#4773), so a page rendering in another test
/// at that moment would wait forever for its data. A server generates the
/// list once before it serves; tests in one process must take turns the
/// same way: no router is built while a request is being answered.
static RENDERING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The public origin the test zone believes it is served from.
pub const ORIGIN: &str = contracts::zone::DEFAULT_PUBLIC_ORIGIN;

/// One zone, as its binary would serve it, on a private database.
pub struct TestZone {
    pub auth: Auth,
    origin: String,
    router: Router,
    dir: tempfile::TempDir,
    _db: TestDb,
}

/// What the zone answered.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not the expected JSON ({err}): {}", self.body))
    }

    /// The `Location` header, if any.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

impl TestZone {
    /// Migrates a fresh store (the shared schema and the zone's own) and
    /// builds the zone's router with its extra routes, served (in its own
    /// belief) from [`ORIGIN`].
    pub async fn start<A, AV, R>(
        zone_app: ZoneApp<A>,
        routes: impl FnOnce(&NoExtra, &Auth) -> anyhow::Result<R>,
    ) -> Self
    where
        A: Fn() -> AV + Clone + Send + Sync + 'static,
        AV: IntoView + 'static,
        R: Into<ZoneRoutes>,
    {
        Self::start_at(zone_app, ORIGIN, routes).await
    }

    /// Like [`Self::start`], with another public origin: for tests that
    /// serve the zone on a real socket (see [`Self::router`]) beside
    /// another service on the same origin, as the edge would.
    pub async fn start_at<A, AV, R>(
        zone_app: ZoneApp<A>,
        origin: &str,
        routes: impl FnOnce(&NoExtra, &Auth) -> anyhow::Result<R>,
    ) -> Self
    where
        A: Fn() -> AV + Clone + Send + Sync + 'static,
        AV: IntoView + 'static,
        R: Into<ZoneRoutes>,
    {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = TestDb::from_env(zone_app.zone.name()).await;
        let store = db.connect().await;
        let url = db.url.clone();
        zone_app
            .migrate(&store)
            .await
            .expect("migrate the test store");
        let config = AuthConfig {
            database_url: url,
            database_wait_secs: 0,
            public_origin: origin.to_owned(),
            session_ttl_secs: 3_600,
            session_max_age_secs: 86_400,
            cookie_secure: None,
            session_mode: SessionMode::Store,
            identity_internal_url: "http://127.0.0.1:3001".into(),
        };
        let auth = Auth::new(store, config);
        let extra = routes(&NoExtra {}, &auth)
            .expect("the zone's routes")
            .into();
        let options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(dir.path().to_string_lossy().into_owned())
            .site_pkg_dir(zone_app.zone.pkg_dir())
            .build();
        let router = {
            let _building = RENDERING.write().await;
            router(
                zone_app,
                options,
                auth.clone(),
                extra,
                PageOptions::default(),
            )
        };
        Self {
            auth,
            origin: origin.to_owned(),
            router,
            dir,
            _db: db,
        }
    }

    /// The zone's site root (empty at first): tests put asset files here.
    pub fn site_root(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The zone's router, to serve on a socket (requests through it do not
    /// take turns with router building; build every zone first).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The public origin the zone believes it is served from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn store(&self) -> &Store {
        self.auth.store()
    }

    /// Signs `username` in (a new session) and returns the `Cookie` header
    /// value that carries it.
    pub async fn sign_in(&self, username: &str) -> String {
        self.sign_in_with_agent(username, "test-browser").await
    }

    /// Like [`Self::sign_in`], with the session's user agent.
    pub async fn sign_in_with_agent(&self, username: &str, user_agent: &str) -> String {
        let user = self
            .store()
            .find_or_create_user(&format!("test#{username}"), username)
            .await
            .expect("user");
        let session = self
            .store()
            .create_session(&user.id, Some(user_agent), self.auth.policy())
            .await
            .expect("session");
        format!("{}={}", self.auth.cookies().session_name(), session.token)
    }

    /// `GET path` as a browser would (optionally signed in).
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    /// `GET path` as an island's `fetch` would (JSON).
    pub async fn get_json(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path).header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    /// A same-origin form post as an island sends it (`fetch`, JSON back).
    pub async fn call(&self, path: &str, form: &str, cookie: Option<&str>) -> Reply {
        let request = form_request(path, cookie)
            .header(header::ACCEPT, "application/json")
            .body(Body::from(form.to_owned()))
            .expect("request");
        self.send(request).await
    }

    /// The same post sent by a page on another site (a CSRF attempt).
    pub async fn call_cross_site(&self, path: &str, form: &str, cookie: Option<&str>) -> Reply {
        let mut request = form_request(path, cookie)
            .header(header::ACCEPT, "application/json")
            .body(Body::from(form.to_owned()))
            .expect("request");
        let headers = request.headers_mut();
        headers.insert(
            header::ORIGIN,
            http::HeaderValue::from_static("https://evil.example"),
        );
        headers.insert(
            "sec-fetch-site",
            http::HeaderValue::from_static("cross-site"),
        );
        self.send(request).await
    }

    /// A same-origin form post as a browser without JavaScript sends it:
    /// HTML accepted, coming from `referer`.
    pub async fn submit(
        &self,
        path: &str,
        form: &str,
        cookie: Option<&str>,
        referer: &str,
    ) -> Reply {
        let request = form_request(path, cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, format!("{ORIGIN}{referer}"))
            .body(Body::from(form.to_owned()))
            .expect("request");
        self.send(request).await
    }

    /// Sends any request through the zone's router.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let _rendering = RENDERING.read().await;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("response body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// The paths of `zone` that lie outside what it owns: every route of `app`
/// not under one of its prefixes, and every server function linked into
/// this binary not under its API prefix. The edge routes by path alone and
/// `#[server(prefix = …)]` / `path!` need literals, so each zone's tests
/// assert this is empty.
pub async fn paths_outside<A, AV>(zone: Zone, app: A) -> Vec<String>
where
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let routes = {
        let _building = RENDERING.write().await;
        leptos_axum::generate_route_list(app)
    };
    let under = |path: &str, prefix: &str| {
        prefix == "/" || path == prefix || path.starts_with(&format!("{prefix}/"))
    };
    let mut outside: Vec<String> = routes
        .iter()
        .map(|route| route.path().to_owned())
        .filter(|path| !zone.prefixes().iter().any(|prefix| under(path, prefix)))
        .collect();
    outside.extend(
        leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .filter(|path| !under(path, zone.api_prefix()))
            .map(str::to_owned),
    );
    outside
}

/// A same-origin `POST path` for a URL-encoded form body. Add headers
/// (Accept, or another Origin), then `.body(...)`.
pub fn form_request(path: &str, cookie: Option<&str>) -> http::request::Builder {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, ORIGIN)
        .header("sec-fetch-site", "same-origin");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request
}
