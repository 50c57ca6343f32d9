//! The public zone's pages on its real router and a fresh store: the home
//! page personalised for a signed-in user, the account area, the 404 page
//! for paths no zone owns, and its paths under its own prefixes.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

mod support;

use support::public;

use http::StatusCode;

#[tokio::test]
async fn the_home_page_greets_a_signed_in_user_by_name() {
    let zone = public().await;
    let anonymous = zone.get("/", None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert!(
        anonymous
            .body
            .contains(r#"<p class="eyebrow greeting">Welcome</p>"#)
    );
    assert!(anonymous.body.contains(r#"data-signed-in="false""#));
    assert!(anonymous.body.contains("/auth/login?return_to=/"));

    let alice = zone.sign_in("alice").await;
    let home = zone.get("/", Some(&alice)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Welcome back, alice"), "{}", home.body);
    assert!(home.body.contains(r#"data-signed-in="true""#));
    assert!(home.body.contains(r#"href="/shop/cart""#));
    assert_eq!(
        home.headers[http::header::CACHE_CONTROL],
        "private, no-store"
    );
}

#[tokio::test]
async fn only_the_anonymous_home_page_is_marked_for_shared_caches() {
    use shared_ui::cache::{FOR_BROWSERS, FOR_SHARED_CACHES};
    let cdn = contracts::cache::CDN_CACHE_CONTROL;
    let zone = public().await;
    let anonymous = zone.get("/", None).await;
    assert_eq!(anonymous.headers[cdn], FOR_SHARED_CACHES);
    assert_eq!(anonymous.headers[http::header::CACHE_CONTROL], FOR_BROWSERS);
    assert!(!anonymous.headers.contains_key(contracts::cache::CACHE_TAG));
    let alice = zone.sign_in("alice").await;
    let signed_in = zone.get("/", Some(&alice)).await;
    assert!(
        !signed_in.headers.contains_key(cdn),
        "{:?}",
        signed_in.headers
    );
    assert_eq!(
        signed_in.headers[http::header::CACHE_CONTROL],
        "private, no-store"
    );
    // A page that differs per visitor is not marked.
    let area = zone.get("/account-area", None).await;
    assert!(!area.headers.contains_key(cdn));
}

#[tokio::test]
async fn the_account_area_invites_or_summarises() {
    let zone = public().await;
    let anonymous = zone.get("/account-area", None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert!(
        anonymous
            .body
            .contains("/auth/login?return_to=/account-area")
    );

    let bob = zone.sign_in("bob").await;
    let page = zone.get("/account-area", Some(&bob)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Signed in as bob (bob)."),
        "{}",
        page.body
    );
    for link in ["/auth/profile", "/auth/sessions", "/shop/orders"] {
        assert!(page.body.contains(&format!(r#"href="{link}""#)), "{link}");
    }
}

#[tokio::test]
async fn paths_no_zone_owns_are_a_404_page() {
    let zone = public().await;
    for path in ["/nowhere", "/account-area/deeper", "/apiary"] {
        let page = zone.get(path, None).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("This page does not exist"), "{path}");
    }
}

#[tokio::test]
async fn every_route_and_server_function_lies_under_the_zone_prefixes() {
    let outside = zone_runtime::testing::paths_outside(zone_public::ZONE, zone_public::App).await;
    assert!(outside.is_empty(), "{outside:?}");
}
