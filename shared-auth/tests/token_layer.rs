//! The session layer in token mode, with a stand-in identity on a real
//! socket serving the two routes identity serves (the JWKS and the token
//! refresh, the real handlers over this test's store): a trusted token is
//! the user without the store; a revoked session's token is refused within
//! a second; anything else with a session cookie is refreshed through
//! identity (in-process or over HTTP), collapsed per session; a session
//! that ended clears the cookies; an identity that is down leaves the
//! request anonymous and the cookies alone.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use contracts::zone::{REVOCATIONS_PATH, SESSION_JWKS_PATH, SESSION_TOKEN_REFRESH_PATH};
use http::{HeaderMap, Request, StatusCode, header};
use shared_auth::identity_feed::{IdentityFeed, revocations_route};
use shared_auth::session_token::{Claims, JwksCache, SigningKey};
use shared_auth::store::testing::time_to_revoke_elsewhere;
use shared_auth::store::{RevocationFeed, Session, now};
use shared_auth::token_issuer::{TokenIssuer, jwks_route, refresh_route};
use shared_auth::token_refresh::{REFRESH_REUSE, Refresher, Refreshes};
use shared_auth::token_trust::TokenTrust;
use support::App;

/// How the zone under test gets fresh tokens.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// In-process, as identity does.
    Local,
    /// Over HTTP from the stand-in identity, as every other zone does.
    Remote,
    /// From an identity that is not there.
    Down,
}

struct TokenApp {
    app: App,
    /// The stand-in identity's address.
    base: String,
    key: SigningKey,
    trust: Arc<TokenTrust>,
    /// Refresh calls the stand-in identity answered.
    refreshes: Arc<AtomicUsize>,
}

/// A zone in token mode beside a stand-in identity over the same store;
/// `follow`: whether the zone reads the revocation log.
async fn token_mode(follow: bool, via: Via) -> TokenApp {
    token_mode_reusing(follow, via, REFRESH_REUSE).await
}

/// [`token_mode`] with refresh answers reused for `reuse`.
async fn token_mode_reusing(follow: bool, via: Via, reuse: Duration) -> TokenApp {
    let mut app = App::new(3600).await;
    let issuer = TokenIssuer::new(&app.auth, Duration::from_secs(300));
    let key = issuer.signing_key().await.unwrap();
    let refreshes = Arc::new(AtomicUsize::new(0));
    let counted = refreshes.clone();
    let identity = Router::new()
        .route(SESSION_JWKS_PATH, get(jwks_route))
        .route(
            SESSION_TOKEN_REFRESH_PATH,
            post(refresh_route).layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            )),
        )
        .with_state(issuer.clone())
        .merge(
            Router::new()
                .route(REVOCATIONS_PATH, get(revocations_route))
                .with_state(app.auth.clone()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, identity).await });
    let config = app.auth.config().clone();
    let jwks = JwksCache::new(
        &format!("{base}{SESSION_JWKS_PATH}"),
        &config.token_issuer(),
        config.token_audience(),
    )
    .unwrap();
    jwks.fetch().await.unwrap();
    let refresher = match via {
        Via::Local => Refresher::Local(issuer),
        Via::Remote => Refresher::remote(
            format!("{base}{SESSION_TOKEN_REFRESH_PATH}"),
            config.cookies(),
        )
        .unwrap(),
        Via::Down => {
            let closed = portpicker_free();
            Refresher::remote(
                format!("http://127.0.0.1:{closed}{SESSION_TOKEN_REFRESH_PATH}"),
                config.cookies(),
            )
            .unwrap()
        }
    };
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
    let trust = Arc::new(TokenTrust::new(
        jwks,
        feed,
        Refreshes::new(refresher).reusing_for(reuse),
        config.cookies(),
    ));
    app.auth = app.auth.clone().with_token_trust(trust.clone());
    TokenApp {
        app,
        base,
        key,
        trust,
        refreshes,
    }
}

/// A port nothing listens on (bound, then let go).
fn portpicker_free() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

impl TokenApp {
    /// `name` signed in: the user, the session cookie's token and the
    /// session's row.
    async fn signed_in_session(&self, name: &str) -> (contracts::User, String, Session) {
        let (user, cookie_token) = self.app.signed_in(name).await;
        let session = self
            .app
            .auth
            .store()
            .validate_session(&cookie_token, self.app.auth.policy())
            .await
            .unwrap()
            .unwrap()
            .session;
        (user, cookie_token, session)
    }

    fn jwt(&self, user_id: &str, username: &str, sid: &str) -> String {
        self.jwt_signed_by(&self.key, user_id, username, sid)
    }

    fn jwt_signed_by(&self, key: &SigningKey, user_id: &str, username: &str, sid: &str) -> String {
        key.sign(&claims(&self.app, user_id, username, sid, now() + 300))
            .unwrap()
    }

    async fn with_cookies(&self, path: &str, cookie: &str) -> (StatusCode, HeaderMap, String) {
        self.app.send(Request::get(path), Some(cookie)).await
    }

    async fn as_jwt(&self, path: &str, jwt: &str) -> (StatusCode, HeaderMap, String) {
        self.with_cookies(path, &format!("auth.session-jwt={jwt}"))
            .await
    }
}

/// What identity would sign for `username` in session `sid`, until `exp`.
fn claims(app: &App, user_id: &str, username: &str, sid: &str, exp: i64) -> Claims {
    let user = contracts::User {
        id: user_id.into(),
        username: username.into(),
        display_name: username.to_uppercase(),
    };
    app.auth.config().session_claims(&user, sid, now(), exp)
}

/// The `Set-Cookie` values of a response for cookie `name`.
fn set_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// The token a response hands over, if it sets one.
fn handed_jwt(headers: &HeaderMap) -> Option<String> {
    set_cookie(headers, "auth.session-jwt")
        .and_then(|c| c.strip_prefix("auth.session-jwt="))
        .and_then(|c| c.split(';').next())
        .filter(|jwt| !jwt.is_empty())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_trusted_token_is_the_user_without_reading_the_store() {
    let zone = token_mode(true, Via::Remote).await;
    // No such user or session in the store: only the token can say who.
    let jwt = zone.jwt("u-ghost", "ghost", "s-ghost");
    let (status, headers, body) = zone.as_jwt("/maybe", &jwt).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ghost"));
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    assert!(headers.get(header::SET_COOKIE).is_none());
    let me = zone.as_jwt("/api/me", &jwt).await.2;
    assert_eq!(
        me,
        r#"{"authenticated":true,"zone":"public","user":{"id":"u-ghost","username":"ghost"}}"#
    );
    // Served from memory the second time: the same answer.
    assert_eq!(zone.as_jwt("/maybe", &jwt).await.2, "ghost");
    assert_eq!(zone.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_key_identity_removed_is_not_trusted_after_the_next_refresh() {
    let zone = token_mode(true, Via::Remote).await;
    let jwt = zone.jwt("u-ghost", "ghost", "s-ghost");
    assert_eq!(zone.as_jwt("/maybe", &jwt).await.2, "ghost");
    // Identity rotates, and the old key is then dropped from its JWKS
    // (as if retired long ago).
    let store = zone.app.auth.store();
    let next = SigningKey::generate().unwrap();
    store
        .rotate_signing_key(next.kid(), &next.to_stored())
        .await
        .unwrap();
    sqlx::query("UPDATE signing_keys SET retired_at = 0 WHERE kid = $1")
        .bind(zone.key.kid())
        .execute(store.pool())
        .await
        .unwrap();
    let trust = zone.trust.clone();
    assert!(trust.refresh_keys().await.unwrap(), "a key was removed");
    assert_eq!(zone.as_jwt("/maybe", &jwt).await.2, "anonymous");
    // Tokens of the new key are trusted.
    let fresh = zone.jwt_signed_by(&next, "u-ghost", "ghost", "s-ghost");
    assert_eq!(zone.as_jwt("/maybe", &fresh).await.2, "ghost");
}

#[tokio::test]
async fn identity_signs_with_a_rotated_key_once_it_reads_the_key_again() {
    let zone = token_mode(true, Via::Local).await;
    let store = zone.app.auth.store();
    let kid_of = |jwt: &str| {
        jsonwebtoken::decode_header(jwt)
            .unwrap()
            .kid
            .unwrap_or_default()
    };
    let (user, _, session) = zone.signed_in_session("alice").await;
    // Two identity processes: one that read the key a moment ago and may
    // keep it, one that reads it for every token.
    let keeping = TokenIssuer::new(&zone.app.auth, Duration::from_secs(300))
        .reusing_key_for(Duration::from_secs(3600));
    let reading =
        TokenIssuer::new(&zone.app.auth, Duration::from_secs(300)).reusing_key_for(Duration::ZERO);
    for issuer in [&keeping, &reading] {
        let issued = issuer.issue(&user, &session).await.unwrap();
        assert_eq!(kid_of(&issued.jwt), zone.key.kid());
    }
    let next = SigningKey::generate().unwrap();
    store
        .rotate_signing_key(next.kid(), &next.to_stored())
        .await
        .unwrap();
    let kept = keeping.issue(&user, &session).await.unwrap();
    assert_eq!(kid_of(&kept.jwt), zone.key.kid(), "within its reuse");
    let read = reading.issue(&user, &session).await.unwrap();
    assert_eq!(kid_of(&read.jwt), next.kid(), "read again");
    // Both verify: the key rotated out stays published.
    assert!(zone.trust.refresh_keys().await.is_ok());
    for jwt in [&kept.jwt, &read.jwt] {
        assert!(zone.trust.jwks().verify(jwt, now()).await.is_ok());
    }
}

#[tokio::test]
async fn a_revoked_sessions_token_is_refused_within_a_second() {
    let zone = token_mode(true, Via::Remote).await;
    let (user, _) = zone.app.signed_in("alice").await;
    let store = zone.app.auth.store();
    let session = store
        .create_session(&user.id, None, zone.app.auth.policy())
        .await
        .unwrap()
        .session;
    let jwt = zone.jwt(&user.id, "alice", &session.id);
    assert_eq!(zone.as_jwt("/maybe", &jwt).await.2, "alice");
    let started = std::time::Instant::now();
    store.delete_session(&session.id).await.unwrap();
    while zone.as_jwt("/maybe", &jwt).await.2 != "anonymous" {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still trusted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("revoked token refused after {:?}", started.elapsed());
}

/// Every kind of bad token: anonymous alone, refreshed through identity
/// beside a live session cookie.
async fn bad_tokens_are_refreshed(via: Via) {
    let zone = token_mode(true, via).await;
    let (user, cookie_token) = zone.app.signed_in("alice").await;
    let good = zone.jwt(&user.id, "alice", "s1");
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let stranger = SigningKey::generate().unwrap();
    let foreign = zone.jwt_signed_by(&stranger, "u-mallory", "mallory", "s1");
    let expired = zone
        .key
        .sign(&claims(&zone.app, &user.id, "alice", "s1", now() - 60))
        .unwrap();
    let oversize = format!("{}.{}", good, "A".repeat(5000));
    for bad in [
        tampered.as_str(),
        foreign.as_str(),
        expired.as_str(),
        oversize.as_str(),
        "not a jwt",
        "",
    ] {
        let (status, _, body) = zone.as_jwt("/maybe", bad).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "anonymous"),
            "{bad:.40}"
        );
        let both = format!("auth.session-jwt={bad}; auth.session-token={cookie_token}");
        let (status, headers, body) = zone.with_cookies("/maybe", &both).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "alice"),
            "{via:?} {bad:.40}"
        );
        // The fresh token works on its own from now on.
        let fresh = handed_jwt(&headers).expect("a fresh token");
        assert_eq!(zone.as_jwt("/maybe", &fresh).await.2, "alice");
    }
    // Sent twice, the token counts as absent.
    let twice = format!("auth.session-jwt={good}; auth.session-jwt={good}");
    assert_eq!(zone.with_cookies("/maybe", &twice).await.2, "anonymous");
}

#[tokio::test]
async fn bad_tokens_are_refreshed_in_process() {
    bad_tokens_are_refreshed(Via::Local).await;
}

#[tokio::test]
async fn bad_tokens_are_refreshed_through_identity() {
    bad_tokens_are_refreshed(Via::Remote).await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_session_make_one_call() {
    let zone = Arc::new(token_mode_reusing(true, Via::Remote, Duration::from_secs(60)).await);
    let (_, cookie_token) = zone.app.signed_in("alice").await;
    let cookie = format!("auth.session-token={cookie_token}");
    let pages: Vec<_> = (0..12)
        .map(|_| {
            let zone = zone.clone();
            let cookie = cookie.clone();
            tokio::spawn(async move { zone.with_cookies("/maybe", &cookie).await.2 })
        })
        .collect();
    for page in pages {
        assert_eq!(page.await.unwrap(), "alice");
    }
    assert_eq!(zone.refreshes.load(Ordering::SeqCst), 1);
}

/// A zone that trusts no token (the revocation log is not read), so that
/// every request with a session cookie is refreshed, as after a profile
/// change while a zone's log is late or its JWKS lacks the key; answers
/// reused for a minute, so that sharing does not depend on how fast the
/// machine runs the test. Alice's first request is refreshed as "alice",
/// then the provider renames her "alice2". The zone, her session cookie
/// and the first response's headers.
async fn refreshed_then_renamed(via: Via) -> (TokenApp, String, HeaderMap) {
    let zone = token_mode_reusing(false, via, Duration::from_secs(60)).await;
    let (_, cookie_token) = zone.app.signed_in("alice").await;
    let cookie = format!("auth.session-token={cookie_token}");
    let (_, headers, body) = zone.with_cookies("/maybe", &cookie).await;
    assert_eq!(body, "alice");
    zone.app
        .auth
        .store()
        .find_or_create_user("t#alice", "alice2")
        .await
        .unwrap();
    (zone, cookie, headers)
}

#[tokio::test]
async fn a_refresh_is_shared_only_by_requests_with_the_same_token() {
    let (zone, cookie, headers) = refreshed_then_renamed(Via::Remote).await;
    let handed = handed_jwt(&headers).expect("a fresh token");
    // A page's next request with the same cookies shares the refresh made.
    assert_eq!(zone.with_cookies("/maybe", &cookie).await.2, "alice");
    assert_eq!(zone.refreshes.load(Ordering::SeqCst), 1);
    // A request with a token the earlier answer did not see (as the one
    // identity sets after a change) gets an answer read after it.
    let with_token = format!("auth.session-jwt={handed}; {cookie}");
    assert_eq!(zone.with_cookies("/maybe", &with_token).await.2, "alice2");
    assert_eq!(zone.with_cookies("/maybe", &with_token).await.2, "alice2");
    assert_eq!(zone.refreshes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_session_changed_here_is_refreshed_afresh_at_once() {
    // Identity's own process.
    let (zone, cookie, _) = refreshed_then_renamed(Via::Local).await;
    // A handler re-issues the token after the change; a request of the
    // same page still without the new token must not get the answer read
    // before it (its cookie would overwrite the new token).
    let (status, headers, _) = zone.with_cookies("/reissue", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(handed_jwt(&headers).is_some_and(|jwt| jwt == "reissued"));
    assert_eq!(zone.with_cookies("/maybe", &cookie).await.2, "alice2");
}

#[tokio::test]
async fn an_ended_session_clears_both_cookies() {
    let zone = token_mode(true, Via::Remote).await;
    let (_, cookie_token, session) = zone.signed_in_session("alice").await;
    zone.app
        .auth
        .store()
        .delete_session(&session.id)
        .await
        .unwrap();
    let (status, headers, body) = zone
        .with_cookies("/maybe", &format!("auth.session-token={cookie_token}"))
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
    for name in ["auth.session-token", "auth.session-jwt"] {
        let cleared = set_cookie(&headers, name).expect("cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
    }
    // No shared cache may hand the clearing to anyone else.
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
}

#[tokio::test]
async fn signing_out_ends_the_cookies_session_even_when_identity_cannot_answer() {
    let zone = token_mode(true, Via::Down).await;
    let (_, cookie_token) = zone.app.signed_in("alice").await;
    let store = zone.app.auth.store();
    let policy = zone.app.auth.policy();
    let cookie = format!("auth.session-token={cookie_token}");
    // Identity is down: the request is anonymous, yet sign-out must end
    // the session the cookie names, not just clear the cookie.
    let (status, _, _) = zone.with_cookies("/sign-out", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        store
            .validate_session(&cookie_token, policy)
            .await
            .unwrap()
            .is_none(),
        "the session is gone"
    );
}

#[tokio::test]
async fn a_refresh_made_just_before_sign_out_does_not_outlive_it() {
    // The revocation log is not followed: what is checked is this
    // process's own memory of the session, whose answers would be reused
    // for a minute.
    let zone = token_mode_reusing(false, Via::Local, Duration::from_secs(60)).await;
    let (_, cookie_token) = zone.app.signed_in("alice").await;
    let cookie = format!("auth.session-token={cookie_token}");
    // A refresh, kept for the page's other requests.
    assert_eq!(zone.with_cookies("/maybe", &cookie).await.2, "alice");
    let (status, _, _) = zone.with_cookies("/sign-out", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    // At once, well within the reuse window: the cookie is nobody's.
    assert_eq!(zone.with_cookies("/maybe", &cookie).await.2, "anonymous");
}

#[tokio::test]
async fn an_identity_that_is_down_signs_nobody_out() {
    let zone = token_mode(true, Via::Down).await;
    let (_, cookie_token) = zone.app.signed_in("alice").await;
    let (status, headers, body) = zone
        .with_cookies("/maybe", &format!("auth.session-token={cookie_token}"))
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
    assert!(
        headers.get(header::SET_COOKIE).is_none(),
        "the cookies are kept"
    );
}

#[tokio::test]
async fn a_token_is_not_trusted_while_the_revocation_log_is_unread() {
    let zone = token_mode(false, Via::Remote).await;
    let jwt = zone.jwt("u-ghost", "ghost", "s-ghost");
    assert_eq!(zone.as_jwt("/maybe", &jwt).await.2, "anonymous");
    // With a session cookie, identity (the store) answers instead.
    let (user, cookie_token) = zone.app.signed_in("alice").await;
    let own = zone.jwt(&user.id, "alice", "s-alice");
    let both = format!("auth.session-jwt={own}; auth.session-token={cookie_token}");
    assert_eq!(zone.with_cookies("/maybe", &both).await.2, "alice");
    assert_eq!(zone.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_zone_without_a_database_follows_the_log_through_identity() {
    let zone = token_mode(false, Via::Remote).await;
    let feed = RevocationFeed::new();
    let source = IdentityFeed::new(format!("{}{REVOCATIONS_PATH}", zone.base)).unwrap();
    tokio::spawn(feed.clone().follow(source, Duration::from_millis(250)));
    let took = time_to_revoke_elsewhere(zone.app.auth.store(), &feed).await;
    eprintln!("revocation seen through identity after {took:?}");
}
