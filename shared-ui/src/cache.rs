//! Pages every anonymous visitor sees alike say so, and the edge (or any
//! CDN in front of it) keeps them for a few seconds and serves them while
//! their zone is down.
//!
//! A page calls [`public_page`] while it renders. An anonymous visitor's
//! answer then carries two headers:
//!
//! * `CDN-Cache-Control` ([`FOR_SHARED_CACHES`], RFC 9213's header for
//!   shared caches): fresh for 5 s, served stale for 30 s while one request
//!   refreshes it, and for a day while the zone fails;
//! * `Cache-Control: no-cache` ([`FOR_BROWSERS`]): a browser asks again
//!   every time. A browser that kept the anonymous page would show it
//!   again right after signing in (the sign-in redirect lands on it), so
//!   the lifetimes are for shared caches only.
//!
//! A signed-in visitor's page is never marked, and the session layer makes
//! every signed-in response `private, no-store` regardless; the edge does
//! not look a request with the session cookie up at all, and stores no
//! answer that sets a cookie or says `private`/`no-store`. Under
//! `cargo leptos watch` pages are not marked: a rebuilt page must show.

/// `CDN-Cache-Control` of a page that is the same for every anonymous visitor.
pub const FOR_SHARED_CACHES: &str =
    "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400";
/// Its `Cache-Control`, for browsers.
pub const FOR_BROWSERS: &str = "no-cache";

/// Marks the page being rendered as public, unless someone is signed in
/// (or the page is served under `cargo leptos watch`), with `tags` as its
/// `Cache-Tag` (what it shows, so `POST /_edge/purge {"tag": …}` can drop
/// every page showing it). Does nothing in the browser.
pub fn public_page(tags: &[&str]) {
    #[cfg(not(feature = "ssr"))]
    let _ = tags;
    #[cfg(feature = "ssr")]
    {
        use axum::http::{HeaderName, HeaderValue, header};
        use leptos::prelude::use_context;
        let live_reload = use_context::<crate::document::LiveReloadEnabled>().is_some();
        if live_reload || shared_auth::leptos::session_user().is_some() {
            return;
        }
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(
                HeaderName::from_static(contracts::cache::CDN_CACHE_CONTROL),
                HeaderValue::from_static(FOR_SHARED_CACHES),
            );
            response.insert_header(
                header::CACHE_CONTROL,
                HeaderValue::from_static(FOR_BROWSERS),
            );
            if !tags.is_empty()
                && let Ok(tags) = HeaderValue::from_str(&tags.join(" "))
            {
                response.insert_header(HeaderName::from_static(contracts::cache::CACHE_TAG), tags);
            }
        }
    }
}
