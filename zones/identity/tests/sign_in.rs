//! Identity's sign-in and sign-out against the development mock provider,
//! both served on one loopback origin as the edge would: the login cookie
//! that binds a sign-in to its browser (login CSRF), `return_to`, the
//! provider's sign-out, and the refusal of a development issuer for an
//! https origin.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use std::collections::HashMap;

use contracts::session_token::TokenGrant;
use contracts::zone::{REVOCATIONS_PATH, SESSION_JWKS_PATH, SESSION_TOKEN_REFRESH_PATH};
use http::StatusCode;
use jsonwebtoken::jwk::JwkSet;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, Url};
use serde_json::Value;
use shared_auth::session_token::{Claims, SigningKey, Verifier};
use zone_identity::server::IdentityConfig;
use zone_runtime::server::ZoneApp;
use zone_runtime::testing::TestZone;

const SECRET: &str = "sign-in-test-secret";

/// One site at a time: requests over the socket do not take turns with
/// router building the way `TestZone::send` does (leptos-rs/leptos#4773).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Identity and the mock provider on one loopback origin.
struct Site {
    origin: String,
    identity: TestZone,
    http: Client,
    _key_dir: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Site {
    async fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let key_dir = tempfile::tempdir().unwrap();
        let mock = mock_idp::app(&mock_idp::config::Config {
            public_origin: origin.clone(),
            listen: listener.local_addr().unwrap(),
            client_id: "meridian".into(),
            client_secret: SECRET.into(),
            key_file: key_dir.path().join("idp.pem"),
            max_grants: 100,
            log: "warn".into(),
        })
        .unwrap();
        let config = identity_config(&format!("{origin}/mock-idp"));
        let app = ZoneApp {
            zone: zone_identity::ZONE,
            app: zone_identity::App,
            schema: None,
        };
        let identity = TestZone::start_at(app, &origin, |_, auth| {
            zone_identity::server::routes(&config, auth)
        })
        .await;
        let router = identity.router().merge(mock);
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = Client::builder().redirect(Policy::none()).build().unwrap();
        Self {
            origin,
            identity,
            http,
            _key_dir: key_dir,
            _turn: turn,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    async fn get(&self, path_or_url: &str, cookies: &[String]) -> Response {
        let url = if path_or_url.starts_with('/') {
            self.url(path_or_url)
        } else {
            path_or_url.to_owned()
        };
        let mut request = self.http.get(url);
        if !cookies.is_empty() {
            request = request.header(http::header::COOKIE, cookies.join("; "));
        }
        request.send().await.unwrap()
    }

    /// Starts a sign-in and submits the provider's form as `username`;
    /// returns the callback URL (not yet opened) and the login cookie.
    async fn until_callback(&self, return_to: &str, username: &str) -> (String, String) {
        let login = self
            .get(&format!("/auth/login?return_to={return_to}"), &[])
            .await;
        assert_eq!(login.status(), StatusCode::FOUND);
        let login_cookie = cookie(&login, "auth.login").expect("the login cookie");
        let authorize = Url::parse(&location(&login)).unwrap();
        assert_eq!(authorize.path(), "/mock-idp/authorize");
        let mut form: HashMap<String, String> = authorize.query_pairs().into_owned().collect();
        form.insert("username".into(), username.into());
        let submitted = self
            .http
            .post(self.url("/mock-idp/authorize"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(submitted.status(), StatusCode::FOUND);
        let callback = location(&submitted);
        assert!(
            callback.starts_with(&self.url("/auth/callback?")),
            "{callback}"
        );
        (callback, login_cookie)
    }

    /// The whole sign-in; the session cookie (`name=value`).
    async fn sign_in(&self, return_to: &str, username: &str) -> (String, Response) {
        let (callback, login_cookie) = self.until_callback(return_to, username).await;
        let done = self.get(&callback, &[login_cookie]).await;
        let session = cookie(&done, "auth.session-token").expect("a session cookie");
        (session, done)
    }

    async fn me(&self, cookies: &[String]) -> Value {
        self.get("/auth/me", cookies).await.json().await.unwrap()
    }
}

fn identity_config(issuer: &str) -> IdentityConfig {
    IdentityConfig {
        oidc_issuer_url: Some(issuer.to_owned()),
        oidc_client_id: "meridian".into(),
        oidc_client_secret: Some(SECRET.into()),
        allow_insecure_issuer: false,
        session_token_ttl_secs: 300,
    }
}

/// The JWKS identity publishes, as a verifier for this site's tokens.
async fn published_keys(site: &Site) -> (Value, Verifier) {
    let response = site
        .http
        .get(site.url(SESSION_JWKS_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers()[http::header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let body: Value = response.json().await.unwrap();
    let set: JwkSet = serde_json::from_value(body.clone()).unwrap();
    let verifier = Verifier::new(&set, &site.url("/auth"), &site.origin);
    (body, verifier)
}

fn claims(site: &Site) -> Claims {
    let now = shared_auth::store::now();
    Claims {
        iss: site.url("/auth"),
        aud: site.origin.clone(),
        sub: "u1".into(),
        sid: "s1".into(),
        name: "Alice".into(),
        username: "alice".into(),
        iat: now,
        exp: now + 300,
    }
}

fn location(response: &Response) -> String {
    response.headers()[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// `name=value` of the cookie `name` that `response` sets (not clears).
fn cookie(response: &Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .find_map(|c| {
            let pair = c.split(';').next()?.to_owned();
            pair.starts_with(&format!("{name}=")).then_some(pair)
        })
}

fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn clears(response: &Response, name: &str) -> bool {
    set_cookies(response)
        .iter()
        .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
}

#[tokio::test]
async fn a_sign_in_hands_over_a_session_token_for_that_session() {
    let site = Site::start().await;
    let (session, done) = site.sign_in("/", "alice").await;
    let set = set_cookies(&done)
        .into_iter()
        .find(|c| c.starts_with("auth.session-jwt="))
        .expect("a session-token cookie");
    assert!(
        set.contains("; Path=/; HttpOnly; SameSite=Lax; Max-Age="),
        "{set}"
    );
    let max_age: i64 = set.split("Max-Age=").nth(1).unwrap().parse().unwrap();
    assert!((1..=300).contains(&max_age), "{set}");
    let jwt = cookie(&done, "auth.session-jwt").unwrap();
    let jwt = jwt.strip_prefix("auth.session-jwt=").unwrap();
    let (_, verifier) = published_keys(&site).await;
    let claims = verifier.verify(jwt, shared_auth::store::now()).unwrap();
    let me = site.me(&[session]).await;
    assert_eq!(claims.sub, me["user"]["id"].as_str().unwrap());
    assert_eq!(claims.username, "alice");
    let sessions = site
        .identity
        .store()
        .user_sessions(&claims.sub)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(claims.sid, sessions[0].id, "the token names its session");
    assert!(claims.exp <= sessions[0].expires_at);
}

#[tokio::test]
async fn the_token_refresh_answers_other_zones_servers_only() {
    let site = Site::start().await;
    let (session, _) = site.sign_in("/", "alice").await;
    let refresh = |extra: Option<(&'static str, &'static str)>, cookie: Option<&str>| {
        let mut request = site.http.post(site.url(SESSION_TOKEN_REFRESH_PATH));
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        if let Some(cookie) = cookie {
            request = request.header(http::header::COOKIE, cookie.to_owned());
        }
        request.send()
    };
    let direct = refresh(None, Some(&session)).await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    assert_eq!(direct.headers()[http::header::CACHE_CONTROL], "no-store");
    let grant: TokenGrant = direct.json().await.unwrap();
    assert!((1..=300).contains(&grant.expires_in), "{grant:?}");
    let (_, verifier) = published_keys(&site).await;
    let claims = verifier
        .verify(&grant.token, shared_auth::store::now())
        .unwrap();
    assert_eq!(claims.username, "alice");
    // Through the edge (which always adds these), the route is not there.
    for header in [
        ("forwarded", "for=203.0.113.9"),
        ("x-forwarded-for", "203.0.113.9"),
    ] {
        let forwarded = refresh(Some(header), Some(&session)).await.unwrap();
        assert_eq!(forwarded.status(), StatusCode::NOT_FOUND, "{header:?}");
    }
    // No live session, no token.
    for cookie in [None, Some("auth.session-token=abcdefghijklmnopqrstuvwxyz")] {
        let refused = refresh(None, cookie).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{cookie:?}");
    }
    // A browser's GET finds nothing either.
    let get = site.get(SESSION_TOKEN_REFRESH_PATH, &[session]).await;
    assert_ne!(get.status(), StatusCode::OK);
    // The revocation log, for a zone without a database: the same rule.
    let log = format!("{REVOCATIONS_PATH}?after=0");
    let direct = site.get(&log, &[]).await;
    assert_eq!(direct.status(), StatusCode::OK);
    let page: Value = direct.json().await.unwrap();
    assert!(
        page["mark"].is_i64() && page["session_ids"].is_array(),
        "{page}"
    );
    let forwarded = site
        .http
        .get(site.url(&log))
        .header("forwarded", "for=203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), StatusCode::NOT_FOUND);
    let nonsense = site.get(&format!("{REVOCATIONS_PATH}?after=x"), &[]).await;
    assert_eq!(nonsense.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_new_display_name_comes_with_a_new_session_token() {
    let site = Site::start().await;
    let (session, _) = site.sign_in("/", "alice").await;
    let renamed = site
        .http
        .post(site.url("/auth/api/profile/name"))
        .header(http::header::COOKIE, session)
        .header(http::header::ORIGIN, site.origin.clone())
        .form(&[("display_name", "Alice Liddell")])
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let jwt = cookie(&renamed, "auth.session-jwt").expect("a new session token");
    let jwt = jwt.strip_prefix("auth.session-jwt=").unwrap();
    let (_, verifier) = published_keys(&site).await;
    let claims = verifier.verify(jwt, shared_auth::store::now()).unwrap();
    assert_eq!(claims.name, "Alice Liddell");
}

#[tokio::test]
async fn the_session_token_keys_are_published_and_rotate() {
    let site = Site::start().await;
    let (body, verifier) = published_keys(&site).await;
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "the first request creates one key: {body}");
    assert_eq!(keys[0]["kty"], "OKP");
    assert!(keys[0].get("d").is_none(), "public halves only: {body}");
    let store = site.identity.store();
    let first =
        SigningKey::from_stored(&store.signing_key().await.unwrap().unwrap().private_key).unwrap();
    let old_token = first.sign(&claims(&site)).unwrap();
    assert!(
        verifier
            .verify(&old_token, shared_auth::store::now())
            .is_ok()
    );

    // What `cargo xtask rotate-keys` does: a new key signs, the old one
    // stays published while its tokens may live.
    let next = SigningKey::generate().unwrap();
    store
        .rotate_signing_key(next.kid(), &next.to_stored())
        .await
        .unwrap();
    let (body, verifier) = published_keys(&site).await;
    assert_eq!(body["keys"].as_array().unwrap().len(), 2, "{body}");
    assert_eq!(body["keys"][0]["kid"], next.kid(), "the signing key first");
    let now = shared_auth::store::now();
    assert!(verifier.verify(&old_token, now).is_ok());
    assert!(
        verifier
            .verify(&next.sign(&claims(&site)).unwrap(), now)
            .is_ok()
    );
}

#[tokio::test]
async fn a_sign_in_is_bound_to_the_browser_that_started_it() {
    let site = Site::start().await;
    let (session, done) = site.sign_in("/auth/profile", "alice").await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(location(&done), "/auth/profile");
    assert!(
        clears(&done, "auth.login"),
        "the login cookie is single-use"
    );
    let login = site.get("/auth/login", &[]).await;
    let set = set_cookies(&login).join("\n");
    assert!(
        set.contains("auth.login=") && set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert_eq!(site.me(&[session]).await["user"]["username"], "alice");
}

#[tokio::test]
async fn someone_elses_callback_link_signs_no_one_in() {
    let site = Site::start().await;
    // The attacker stops before the callback and sends its link around.
    let (link, _attackers_cookie) = site.until_callback("/", "mallory").await;
    let opened = site.get(&link, &[]).await;
    assert_eq!(opened.status(), StatusCode::FOUND);
    assert!(
        location(&opened).starts_with("/auth/error?reason="),
        "{}",
        location(&opened)
    );
    assert_eq!(cookie(&opened, "auth.session-token"), None);
}

#[tokio::test]
async fn a_signed_in_victim_stays_who_they_were() {
    let site = Site::start().await;
    let (alice, _) = site.sign_in("/", "alice").await;
    let (link, _) = site.until_callback("/", "mallory").await;
    // A login cookie of the victim's own (from an earlier attempt) does not
    // match the attacker's state either.
    let (_, victims_login) = site.until_callback("/", "alice").await;
    let opened = site.get(&link, &[alice.clone(), victims_login]).await;
    assert!(location(&opened).starts_with("/auth/error?reason="));
    assert_eq!(cookie(&opened, "auth.session-token"), None);
    assert!(!clears(&opened, "auth.session-token"));
    assert_eq!(site.me(&[alice]).await["user"]["username"], "alice");
}

#[tokio::test]
async fn return_to_never_lands_on_an_api() {
    let site = Site::start().await;
    for target in ["/shop/api/cart/checkout", "/auth/api/sessions", "/api/me"] {
        let (_, done) = site.sign_in(target, "alice").await;
        assert_eq!(location(&done), "/", "{target}");
    }
}

#[tokio::test]
async fn sign_out_ends_the_session_here_and_at_the_provider() {
    let site = Site::start().await;
    let (session, _) = site.sign_in("/", "alice").await;
    let out = site
        .http
        .post(site.url("/auth/logout"))
        .header(http::header::ORIGIN, site.identity.origin())
        .header(http::header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::FOUND);
    assert!(clears(&out, "auth.session-token"));
    assert!(clears(&out, "auth.session-jwt"), "{:?}", set_cookies(&out));
    let provider = Url::parse(&location(&out)).unwrap();
    assert_eq!(provider.path(), "/mock-idp/logout");
    let query: HashMap<String, String> = provider.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        site.url("/auth/signed-out")
    );
    assert!(query["id_token_hint"].split('.').count() == 3, "{query:?}");
    let back = site.get(provider.as_str(), &[]).await;
    assert_eq!(location(&back), site.url("/auth/signed-out"));
    let page = site.get("/auth/signed-out", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("You are signed out"));
    assert_eq!(site.me(&[session]).await["authenticated"], false);
}

#[tokio::test]
async fn a_cross_site_sign_out_is_refused() {
    let site = Site::start().await;
    let (session, _) = site.sign_in("/", "alice").await;
    let out = site
        .http
        .post(site.url("/auth/logout"))
        .header(http::header::ORIGIN, "https://evil.example")
        .header(http::header::COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::FORBIDDEN);
    assert_eq!(site.me(&[session]).await["authenticated"], true);
}

#[tokio::test]
async fn an_https_site_refuses_a_development_issuer() {
    let site = Site::start().await;
    let mut auth = site.identity.auth.config().clone();
    auth.public_origin = "https://shop.example".into();
    let auth = shared_auth::auth::Auth::new(site.identity.store().clone(), auth);
    let refused =
        zone_identity::server::routes(&identity_config("http://127.0.0.1:9/mock-idp"), &auth)
            .err()
            .unwrap();
    assert!(
        refused.to_string().contains("--allow-insecure-issuer"),
        "{refused}"
    );
    let mut allowed = identity_config("http://127.0.0.1:9/mock-idp");
    allowed.allow_insecure_issuer = true;
    assert!(zone_identity::server::routes(&allowed, &auth).is_ok());
}

/// Log lines written while the guard lives, for one thread.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_query_string_cannot_forge_log_lines() {
    let site = Site::start().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let request = http::Request::get(
        "/auth/callback?state=x&error=denied%0D%0A2026-01-01T00:00:00Z%20INFO%20forged",
    )
    .body(axum::body::Body::empty())
    .unwrap();
    let reply = site.identity.send(request).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("refused the sign-in"), "{logs}");
    assert!(
        logs.lines()
            .all(|line| !line.starts_with("2026-01-01T00:00:00Z")),
        "a forged line reached the log:\n{logs}"
    );
    assert!(
        logs.contains(r"denied\r\n2026"),
        "escaped in place:\n{logs}"
    );
}

#[tokio::test]
async fn a_foreign_callback_does_not_cancel_a_sign_in_in_progress() {
    let site = Site::start().await;
    let (own_link, own_login) = site.until_callback("/shop", "alice").await;
    let (foreign_link, _) = site.until_callback("/", "mallory").await;
    let opened = site
        .get(&foreign_link, std::slice::from_ref(&own_login))
        .await;
    assert!(location(&opened).starts_with("/auth/error?reason="));
    assert!(!clears(&opened, "auth.login"), "{:?}", set_cookies(&opened));
    let done = site.get(&own_link, &[own_login]).await;
    assert_eq!(location(&done), "/shop");
    let session = cookie(&done, "auth.session-token").unwrap();
    assert_eq!(site.me(&[session]).await["user"]["username"], "alice");
}
