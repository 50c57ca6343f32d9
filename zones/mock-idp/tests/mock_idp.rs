//! The mock provider through its real router (`oneshot`, no socket):
//! discovery, a whole authorize → token round trip with PKCE as a client
//! library does it, client authentication, single-use codes, bounded state,
//! and RP-initiated logout.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use std::path::Path;
use std::str::FromStr as _;

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use mock_idp::{Config, StartError};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    Audience, ClientId, EmptyAdditionalClaims, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;

const ORIGIN: &str = "http://localhost:8080";
const ISSUER: &str = "http://localhost:8080/mock-idp";
const CALLBACK: &str = "http://localhost:8080/auth/callback";
const SIGNED_OUT: &str = "http://localhost:8080/auth/signed-out";
const SECRET: &str = "test-secret";
const VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-0123456789";

fn config(key_file: &Path, max_grants: u32) -> Config {
    Config {
        public_origin: ORIGIN.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        client_id: "meridian".to_owned(),
        client_secret: SECRET.to_owned(),
        key_file: key_file.to_owned(),
        max_grants,
        log: "warn".to_owned(),
    }
}

/// A provider with a fresh key; the directory holds the key file.
struct Idp {
    app: Router,
    dir: tempfile::TempDir,
}

impl Idp {
    fn new() -> Self {
        Self::with_capacity(100)
    }

    fn with_capacity(max_grants: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = mock_idp::app(&config(&dir.path().join("idp.pem"), max_grants)).unwrap();
        Self { app, dir }
    }

    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            location,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn post_form(&self, uri: &str, form: &[(&str, &str)], basic: Option<&str>) -> Answer {
        let mut request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(secret) = basic {
            let credentials = STANDARD.encode(format!("meridian:{secret}"));
            request = request.header(header::AUTHORIZATION, format!("Basic {credentials}"));
        }
        self.send(request.body(Body::from(encode(form))).unwrap())
            .await
    }

    /// The sign-in form posted for `username`: the code, from the redirect
    /// to the callback (whose state must come back unchanged).
    async fn code_for(&self, username: &str) -> String {
        let answer = self
            .post_form_owned("/mock-idp/authorize", &authorize_form(username))
            .await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
        let location = answer.location.unwrap();
        assert!(location.starts_with(&format!("{CALLBACK}?")), "{location}");
        let params = query(&location);
        assert_eq!(params.get("state").map(String::as_str), Some("st4te"));
        params
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {location}"))
    }

    async fn exchange(&self, code: &str, secret: &str, verifier: &str) -> Answer {
        self.post_form(
            "/mock-idp/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
            ],
            Some(secret),
        )
        .await
    }

    /// A whole sign-in; the id_token.
    async fn id_token(&self, username: &str) -> String {
        let code = self.code_for(username).await;
        let answer = self.exchange(&code, SECRET, VERIFIER).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()["id_token"].as_str().unwrap().to_owned()
    }
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        form.append_pair(k, v);
    }
    form.finish()
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

fn authorize_form(username: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", "meridian".into()),
        ("redirect_uri", CALLBACK.into()),
        ("scope", "openid profile".into()),
        ("state", "st4te".into()),
        ("nonce", "n0nce".into()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".into()),
        ("username", username.into()),
    ]
}

impl Idp {
    async fn post_form_owned(&self, uri: &str, form: &[(&'static str, String)]) -> Answer {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post_form(uri, &pairs, None).await
    }
}

#[tokio::test]
async fn discovery_names_the_issuer_and_every_endpoint_including_logout() {
    let idp = Idp::new();
    let answer = idp.get("/mock-idp/.well-known/openid-configuration").await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = answer.json();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["authorization_endpoint"], format!("{ISSUER}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(doc["jwks_uri"], format!("{ISSUER}/jwks"));
    assert_eq!(doc["end_session_endpoint"], format!("{ISSUER}/logout"));
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "EdDSA");

    let jwks = idp.get("/mock-idp/jwks").await.json();
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert_eq!(idp.get("/mock-idp/health").await.body, "ok");
}

#[tokio::test]
async fn the_sign_in_page_is_styled_by_the_identity_zone() {
    let idp = Idp::new();
    let form: Vec<(&str, String)> = authorize_form("")
        .into_iter()
        .filter(|(k, _)| *k != "username")
        .collect();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = idp
        .get(&format!("/mock-idp/authorize?{}", encode(&pairs)))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body.contains(r#"href="/auth/pkg/app.css""#),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(r#"action="/mock-idp/authorize""#));
    assert!(answer.body.contains(r#"value="st4te""#));
}

#[tokio::test]
async fn a_whole_sign_in_with_pkce_yields_a_verifiable_id_token() {
    let idp = Idp::new();
    let code = idp.code_for("alice").await;
    let answer = idp.exchange(&code, SECRET, VERIFIER).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let tokens = answer.json();
    assert_eq!(tokens["token_type"], "bearer");

    // Verified as the identity zone's client library does: signature
    // against the published JWKS, issuer, audience, nonce, expiry.
    let jwks: CoreJsonWebKeySet =
        serde_json::from_str(&idp.get("/mock-idp/jwks").await.body).unwrap();
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new("meridian".into()),
        openidconnect::ClientSecret::new(SECRET.into()),
        IssuerUrl::new(ISSUER.into()).unwrap(),
        jwks,
    )
    .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa]);
    let id_token = CoreIdToken::from_str(tokens["id_token"].as_str().unwrap()).unwrap();
    let claims = id_token
        .claims(&verifier, &Nonce::new("n0nce".into()))
        .unwrap();
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );

    let access = tokens["access_token"].as_str().unwrap();
    let me = idp
        .send(
            Request::get("/mock-idp/userinfo")
                .header(header::AUTHORIZATION, format!("Bearer {access}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["preferred_username"], "alice");
    let nobody = idp
        .send(
            Request::get("/mock-idp/userinfo")
                .header(header::AUTHORIZATION, "Bearer made-up")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused() {
    let idp = Idp::new();
    let code = idp.code_for("alice").await;
    for wrong in ["", "test-secreT", "test-secret-", "test"] {
        let answer = idp.exchange(&code, wrong, VERIFIER).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(answer.json()["error"], "invalid_client");
    }
    // No credentials at all.
    let answer = idp
        .post_form(
            "/mock-idp/token",
            &[("grant_type", "authorization_code"), ("code", &code)],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // The refusals did not spend the code: the real client still can.
    assert_eq!(
        idp.exchange(&code, SECRET, VERIFIER).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_code_is_redeemed_once_and_only_with_its_verifier() {
    let idp = Idp::new();
    let code = idp.code_for("alice").await;
    assert_eq!(
        idp.exchange(&code, SECRET, VERIFIER).await.status,
        StatusCode::OK
    );
    let replay = idp.exchange(&code, SECRET, VERIFIER).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(replay.json()["error"], "invalid_grant");

    let code = idp.code_for("bob").await;
    let wrong = idp
        .exchange(&code, SECRET, "another-verifier-entirely-0123456789abcdef")
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json()["error"], "invalid_grant");
    // A failed verifier spent the code too.
    assert_eq!(
        idp.exchange(&code, SECRET, VERIFIER).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_never_redirected_to() {
    let idp = Idp::new();
    let mut form = authorize_form("alice");
    form[2].1 = "https://evil.example/callback".into();
    let answer = idp.post_form_owned("/mock-idp/authorize", &form).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.location, None);
}

#[tokio::test]
async fn when_full_the_provider_answers_temporarily_unavailable() {
    let idp = Idp::with_capacity(1);
    let _unredeemed = idp.code_for("alice").await;
    let answer = idp
        .post_form_owned("/mock-idp/authorize", &authorize_form("bob"))
        .await;
    assert_eq!(answer.status, StatusCode::FOUND);
    let params = query(&answer.location.unwrap());
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("temporarily_unavailable")
    );
    assert_eq!(params.get("code"), None);
}

fn logout_uri(params: &[(&str, &str)]) -> String {
    format!("/mock-idp/logout?{}", encode(params))
}

#[tokio::test]
async fn logout_returns_to_the_registered_uri_with_the_state() {
    let idp = Idp::new();
    let hint = idp.id_token("alice").await;
    let answer = idp
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("client_id", "meridian"),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some(&*format!("{SIGNED_OUT}?state=bye"))
    );

    // client_id alone identifies the client too; no state, no query.
    let answer = idp
        .get(&logout_uri(&[
            ("client_id", "meridian"),
            ("post_logout_redirect_uri", SIGNED_OUT),
        ]))
        .await;
    assert_eq!(answer.location.as_deref(), Some(SIGNED_OUT));

    // Without a post-logout URI: the provider's own page.
    let answer = idp.get(&logout_uri(&[("id_token_hint", &hint)])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.location, None);
}

#[tokio::test]
async fn logout_accepts_an_expired_hint_it_signed() {
    let idp = Idp::new();
    // Signed with the provider's own key file, expired an hour ago.
    let key = mock_idp::keys::load_or_create(&idp.dir.path().join("idp.pem")).unwrap();
    let now = Utc::now();
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(ISSUER.into()).unwrap(),
        vec![Audience::new("meridian".into())],
        now - Duration::hours(1),
        now - Duration::hours(2),
        StandardClaims::new(SubjectIdentifier::new("alice".into())),
        EmptyAdditionalClaims {},
    );
    let expired =
        CoreIdToken::new(claims, &key, CoreJwsSigningAlgorithm::EdDsa, None, None).unwrap();
    let answer = idp
        .get(&logout_uri(&[
            ("id_token_hint", &expired.to_string()),
            ("post_logout_redirect_uri", SIGNED_OUT),
        ]))
        .await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some(SIGNED_OUT));
}

#[tokio::test]
async fn logout_refuses_other_uris_clients_and_foreign_hints() {
    let idp = Idp::new();
    let hint = idp.id_token("alice").await;
    let elsewhere = Idp::new();
    let foreign = elsewhere.id_token("alice").await;
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "foreign post-logout URI",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        ),
        (
            "a look-alike of the registered URI",
            vec![
                ("id_token_hint", &hint),
                (
                    "post_logout_redirect_uri",
                    "http://localhost:8080/auth/signed-out/../../x",
                ),
            ],
        ),
        (
            "hint signed by another provider's key",
            vec![
                ("id_token_hint", &foreign),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "hint that is not a token",
            vec![
                ("id_token_hint", "not.a.token"),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "another client",
            vec![
                ("id_token_hint", &hint),
                ("client_id", "someone-else"),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "no client identified",
            vec![("post_logout_redirect_uri", SIGNED_OUT), ("state", "s")],
        ),
    ];
    for (what, params) in cases {
        let answer = idp.get(&logout_uri(&params)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(answer.location, None, "{what} must not redirect");
        assert!(answer.body.contains("Sign-out refused"), "{what}");
    }
}

#[test]
fn an_https_origin_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&dir.path().join("idp.pem"), 10);
    config.public_origin = "https://meridian.example".into();
    assert!(matches!(
        mock_idp::app(&config),
        Err(StartError::Origin(mock_idp::OriginError::Https))
    ));
    // Refused before any key is written.
    assert!(!dir.path().join("idp.pem").exists());
}
