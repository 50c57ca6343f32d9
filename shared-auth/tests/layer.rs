//! The session layer and extractors on a real router (no socket), store
//! mode: cookie resolution, 401 JSON for APIs, renewal and clearing of the
//! cookie, duplicate cookies, private caching of signed-in responses, the
//! `/…/me` contract, and the guard layers (cross-site writes, off-origin
//! redirects). Token mode is `token_layer.rs`.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

mod support;

use http::{Request, StatusCode, header};
use shared_auth::auth::Auth;
use shared_auth::config::AuthConfig;
use support::{App, new_token};

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
