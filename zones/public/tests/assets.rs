//! How a zone serves its bundle (here the public zone's, on its real
//! router): the release's hashed files immutable and precompressed, other
//! files revalidated, and pages that fetch the bundle only when they have
//! an island.

#![allow(clippy::unwrap_used)] // set-up failing is a test failure

mod support;

use support::public;

use axum::body::Body;
use contracts::Zone;
use http::{Request, StatusCode, header};
use zone_runtime::assets::{IMMUTABLE, REVALIDATE};

fn asset(path: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT_ENCODING, accept);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn hashed_files_are_immutable_and_sent_compressed_when_accepted() {
    let zone = public().await;
    let pkg = zone.site_root().join(Zone::Public.pkg_dir());
    std::fs::create_dir_all(&pkg).unwrap();
    let wasm = "app.0123456789abcdef.wasm";
    std::fs::write(pkg.join(wasm), vec![7u8; 4096]).unwrap();
    std::fs::write(pkg.join(format!("{wasm}.br")), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("app.css"), "body{}").unwrap();
    let path = format!("/{}/{wasm}", Zone::Public.pkg_dir());

    let packed = zone.send(asset(&path, Some("gzip, deflate, br"))).await;
    assert_eq!(packed.status, StatusCode::OK);
    assert_eq!(packed.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(packed.headers[header::CACHE_CONTROL], IMMUTABLE);
    assert!(
        packed.headers[header::VARY]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
    assert_eq!(packed.body, "brotli bytes");

    // A client that takes no brotli gets the file as built.
    let plain = zone.send(asset(&path, None)).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(!plain.headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(plain.headers[header::CACHE_CONTROL], IMMUTABLE);

    // Unhashed names may change under the same name: revalidated.
    let css = format!("/{}/app.css", Zone::Public.pkg_dir());
    let css = zone.send(asset(&css, None)).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CACHE_CONTROL], REVALIDATE);

    // What is not there is not cached.
    let missing = format!("/{}/app.ffffffffffffffff.wasm", Zone::Public.pkg_dir());
    let missing = zone.send(asset(&missing, None)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_ne!(
        missing
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some(IMMUTABLE)
    );
}

#[tokio::test]
async fn a_page_fetches_the_bundle_only_through_the_island_check() {
    let zone = public().await;
    let page = zone.get("/account-area", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let template = page
        .body
        .find(r#"<template id="zone-bundle">"#)
        .expect("the bundle's scripts sit in a template");
    let end = template + page.body[template..].find("</template>").unwrap();
    // Every reference to the bundle is inside the inert template.
    for needle in ["modulepreload", ".wasm", "type=\"module\""] {
        let first = page.body.find(needle).unwrap_or_else(|| panic!("{needle}"));
        let last = page.body.rfind(needle).unwrap();
        assert!(
            first > template && last < end,
            "{needle} outside the template"
        );
    }
    assert!(page.body.contains("querySelector('leptos-island')"));
    // The loader starts Leptos' script without waiting for the browser to
    // be idle: the text it switches off is there (a Leptos upgrade that
    // changes it fails here rather than slowing every navigation).
    let script = &page.body[template..end];
    assert!(
        script.contains(shared_ui::document::IDLE_TEST),
        "Leptos' island script no longer tests {}",
        shared_ui::document::IDLE_TEST
    );
}

#[tokio::test]
async fn pages_ask_the_browser_to_fetch_zone_links_ahead() {
    let zone = public().await;
    let page = zone.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let open = r#"<script type="speculationrules">"#;
    let start = page.body.find(open).expect("speculation rules") + open.len();
    let end = start + page.body[start..].find("</script>").unwrap();
    let rules: serde_json::Value = serde_json::from_str(&page.body[start..end])
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", &page.body[start..end]));
    let prefetch = rules["prefetch"][0]["where"]["selector_matches"]
        .as_str()
        .unwrap();
    let prerender = rules["prerender"][0]["where"]["selector_matches"]
        .as_str()
        .unwrap();
    assert!(prefetch.contains("a[data-zone-link]"), "{prefetch}");
    assert!(prerender.starts_with(".primary-nav "), "{prerender}");
    assert_eq!(rules["prerender"][0]["eagerness"], "moderate");
    // The links they pick: the primary navigation's, marked by zone.
    assert!(
        page.body.contains(r#"data-zone-link="shop""#),
        "{}",
        page.body
    );
    // The sign-in link is not a zone link: fetching it ahead would start a
    // sign-in.
    let sign_in = page
        .body
        .find(r#"href="/auth/login"#)
        .expect("a sign-in link");
    let tag = &page.body[page.body[..sign_in].rfind('<').unwrap()..];
    let tag = &tag[..tag.find('>').unwrap()];
    assert!(!tag.contains("data-zone-link"), "{tag}");
}
