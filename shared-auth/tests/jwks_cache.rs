//! A zone's JWKS copy against a real HTTP server standing in for identity:
//! fetched patiently at start, refetched for a key it does not know, and
//! never more than once per `JWKS_MIN_REFETCH` however many unknown key ids
//! arrive.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use jsonwebtoken::jwk::JwkSet;
use shared_auth::session_token::{Claims, JWKS_MIN_REFETCH, JwksCache, Rejected, SigningKey};

const ISS: &str = "http://localhost:8080/auth";
const AUD: &str = "http://localhost:8080";

struct Identity {
    url: String,
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

async fn identity(first: &SigningKey) -> Identity {
    let keys = Arc::new(Mutex::new(JwkSet {
        keys: vec![first.jwk()],
    }));
    let fetches = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route(
        "/auth/.well-known/jwks.json",
        get({
            let keys = keys.clone();
            let fetches = fetches.clone();
            move || async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                axum::Json(keys.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/auth/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Identity { url, keys, fetches }
}

fn token(key: &SigningKey) -> String {
    let now = shared_auth::store::now();
    key.sign(&Claims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: "u1".into(),
        sid: "s1".into(),
        name: "Alice".into(),
        username: "alice".into(),
        iat: now,
        exp: now + 300,
    })
    .unwrap()
}

#[tokio::test]
async fn a_new_key_is_fetched_once_and_forged_kids_do_not_hammer_identity() {
    let first = SigningKey::generate().unwrap();
    let identity = identity(&first).await;
    let cache = JwksCache::new(&identity.url, ISS, AUD).unwrap();
    let now = shared_auth::store::now();
    cache.fetch_patiently(Duration::from_secs(5)).await.unwrap();
    let after_start = identity.fetches.load(Ordering::SeqCst);
    assert!(cache.verify(&token(&first), now).await.is_ok());
    assert_eq!(
        identity.fetches.load(Ordering::SeqCst),
        after_start,
        "a known key: no fetch"
    );

    // A forged key id within MIN_REFETCH of the last fetch: no fetch.
    let stranger = SigningKey::generate().unwrap();
    for _ in 0..20 {
        assert!(matches!(
            cache.verify(&token(&stranger), now).await,
            Err(Rejected::UnknownKey(_))
        ));
    }
    assert_eq!(identity.fetches.load(Ordering::SeqCst), after_start);
}

#[tokio::test]
async fn a_rotated_key_verifies_after_one_refetch() {
    let first = SigningKey::generate().unwrap();
    let identity = identity(&first).await;
    let cache = JwksCache::new(&identity.url, ISS, AUD).unwrap();
    cache.fetch().await.unwrap();
    let next = SigningKey::generate().unwrap();
    identity.keys.lock().unwrap().keys.insert(0, next.jwk());
    let now = shared_auth::store::now();
    // Too soon after the start-up fetch: the new key is not known yet.
    assert!(matches!(
        cache.verify(&token(&next), now).await,
        Err(Rejected::UnknownKey(_))
    ));
    tokio::time::sleep(JWKS_MIN_REFETCH).await;
    // The clock read again after the wait: tokens signed from here on carry
    // an `iat` up to a second past the old reading plus the wait, which is
    // beyond the verifier's leeway for a stale `now`.
    let now = shared_auth::store::now();
    let before = identity.fetches.load(Ordering::SeqCst);
    assert!(cache.verify(&token(&next), now).await.is_ok());
    assert!(
        cache.verify(&token(&first), now).await.is_ok(),
        "the old key too"
    );
    assert_eq!(identity.fetches.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn a_token_identity_hands_over_is_checked_against_a_fresh_fetch_at_once() {
    let first = SigningKey::generate().unwrap();
    let identity = identity(&first).await;
    let cache = JwksCache::new(&identity.url, ISS, AUD).unwrap();
    cache.fetch().await.unwrap();
    let next = SigningKey::generate().unwrap();
    identity.keys.lock().unwrap().keys.insert(0, next.jwk());
    let now = shared_auth::store::now();
    // From a browser, too soon after the last fetch: not yet.
    assert!(matches!(
        cache.verify(&token(&next), now).await,
        Err(Rejected::UnknownKey(_))
    ));
    // From identity itself (a refresh): fetched at once, so a zone that
    // just started never refuses identity's own fresh token.
    assert!(cache.verify_from_identity(&token(&next), now).await.is_ok());
    // A key identity does not publish stays refused.
    let stranger = SigningKey::generate().unwrap();
    assert!(matches!(
        cache.verify_from_identity(&token(&stranger), now).await,
        Err(Rejected::UnknownKey(_))
    ));
}

#[tokio::test]
async fn an_identity_that_never_answers_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/auth/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let cache = JwksCache::new(&url, ISS, AUD).unwrap();
    let err = cache
        .fetch_patiently(Duration::from_millis(600))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot fetch the JWKS"), "{err}");
}
