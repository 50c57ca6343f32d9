//! Anonymous `GET`/`HEAD` requests through the edge cache (what may be
//! stored is `cache_policy`'s call, the store is `cache`):
//!
//! * fresh copy: served, `X-Cache: HIT` with its `Age`;
//! * past its lifetime but within `stale-while-revalidate`: served,
//!   `X-Cache: STALE`, and one request per key refreshes it in the
//!   background;
//! * otherwise the request goes to the zone (`X-Cache: MISS`); concurrent
//!   misses of one key wait for the first, which reads a storable answer
//!   whole (at the zone's pace, up to the largest entry) before sending it
//!   on; when the zone is down or answers 5xx, a copy within
//!   `stale-if-error` is served instead (`X-Cache: STALE`).
//!
//! A key whose last answer from the zone was a success that could not be
//! stored is passed straight to the zone for a while (`cache::PASS_FOR`),
//! so pages that are never cached pay no more than a lookup.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::Authority;
use http::{Method, StatusCode};

use crate::buffered_body::{Read, read_up_to};
use crate::cache::{EdgeCache, Entry, Found, Lead, Outcome, Use};
use crate::cache_policy::{storable, vary_names};
use crate::exchange::{self, forward};
use crate::forward::{is_plain_host, request_id};
use crate::routes::Route;
use crate::state::Edge;

/// `X-Cache`: `HIT`, `STALE` or `MISS`.
pub static X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// RFC 7234's `Warning` (obsolete in RFC 9111, still read by tools).
static WARNING: HeaderName = HeaderName::from_static("warning");
const STALE_WARNING: &str = "110 - \"Response is Stale\"";
const REVALIDATION_FAILED: &str = "111 - \"Revalidation Failed\"";

/// Answers `request` from the cache, or from the zone through it.
pub async fn serve(
    edge: &Arc<Edge>,
    cache: &EdgeCache,
    route: &Route,
    peer: SocketAddr,
    id: HeaderValue,
    request: Request,
) -> (Response, Option<Authority>) {
    let Some(key) = key(&request) else {
        // An odd host or a very long address: past the cache.
        return pin!(forward(edge, route, peer, id, request, None)).await;
    };
    let head = request.method() == Method::HEAD;
    let mut stale = None;
    let mut waited = false;
    let leader = loop {
        match cache.lookup(&key, request.headers()) {
            Found::Pass => break None,
            Found::Entry(entry) => match entry.usable(Instant::now()) {
                Use::Fresh => return (from_cache(cache, &entry, Outcome::Hit, head, None), None),
                Use::StaleWhileRevalidate => {
                    if entry.start_refresh() {
                        refresh(edge.clone(), peer, &request, key.clone(), entry.clone());
                    }
                    let response = from_cache(cache, &entry, Outcome::Stale, head, None);
                    return (response, None);
                }
                Use::StaleIfError => stale = Some(entry),
                Use::Expired => {}
            },
            Found::Nothing => {}
        }
        if head || waited {
            break None;
        }
        match cache.lead(&key) {
            Lead::Leader(guard) => break Some(guard),
            Lead::Wait(mut done) => {
                // The leader reads the zone's answer at the zone's pace
                // (below), so this waits for the zone, not for a client.
                let wait = edge.options().response_timeout;
                let _ = tokio::time::timeout(wait, done.changed()).await;
                waited = true;
            }
        }
    };
    // The values of the headers a response may `Vary` on, for storing it.
    let request_headers = leader.as_ref().map(|_| request.headers().clone());
    let path = request.uri().path().to_owned();
    let (mut response, upstream) = pin!(forward(edge, route, peer, id, request, None)).await;
    if response.status().is_server_error()
        && let Some(entry) = stale
    {
        tracing::warn!(
            path,
            status = response.status().as_u16(),
            "serving a stale copy"
        );
        let warning = Some(REVALIDATION_FAILED);
        return (
            from_cache(cache, &entry, Outcome::Stale, head, warning),
            upstream,
        );
    }
    cache.count(Outcome::Miss);
    response
        .headers_mut()
        .insert(X_CACHE.clone(), Outcome::Miss.header());
    let (Some(leader), Some(request_headers)) = (leader, request_headers) else {
        return (response, upstream);
    };
    let Some((freshness, vary)) =
        storable(response.status(), response.headers()).zip(vary_names(response.headers()))
    else {
        // The zone's own answer, not to be cached: later requests of
        // this key skip the collapsing. Never for the edge's own pages
        // (413, 502…) or errors, which any client can provoke.
        if upstream.is_some() && response.status().is_success() {
            cache.pass(&key);
        }
        return (response, upstream);
    };
    // The copy is read whole before the leader's client gets it, so a
    // client that reads slowly (or never) holds neither the copy nor the
    // requests waiting for it.
    let (mut parts, body) = response.into_parts();
    let idle = edge.options().idle_timeout;
    let body = match read_up_to(body, cache.max_entry_bytes(), idle).await {
        Read::Whole(bytes) => {
            let entry = Entry::new(
                parts.status,
                parts.headers.clone(),
                bytes.clone(),
                &request_headers,
                vary,
                freshness,
            );
            cache.insert(key, &path, entry);
            Body::from(bytes)
        }
        Read::TooLarge(prefixed) => Body::new(prefixed),
        Read::Failed(error) => {
            tracing::warn!(path, "the zone's answer failed mid-body: {error}");
            drop(leader);
            return (exchange::unavailable(edge, route.target), upstream);
        }
    };
    drop(leader);
    parts.headers.remove(header::CONTENT_LENGTH);
    (Response::from_parts(parts, body), upstream)
}

/// The longest path and query cached (longer addresses go past the
/// cache, so they cannot fill it cheaply).
const MAX_KEY_BYTES: usize = 2048;

/// The cache key: the host (lower-cased), a line feed (which neither a
/// host nor a path can hold), path and query; only `GET` responses are
/// stored, `HEAD` is answered from them. `None` for a host that is not a
/// plain `name[:port]` (it could make one key look like another) or an
/// address longer than [`MAX_KEY_BYTES`].
fn key(request: &Request) -> Option<String> {
    let host = match request.headers().get(header::HOST) {
        Some(host) => host.to_str().ok()?,
        None => request.uri().authority().map_or("", Authority::as_str),
    };
    if !host.is_empty() && !is_plain_host(host) {
        return None;
    }
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    if host.len() + path.len() > MAX_KEY_BYTES {
        return None;
    }
    let mut key = String::with_capacity(host.len() + 1 + path.len());
    key.extend(host.chars().map(|c| c.to_ascii_lowercase()));
    key.push('\n');
    key.push_str(path);
    Some(key)
}

/// A response made from a stored copy.
fn from_cache(
    cache: &EdgeCache,
    entry: &Entry,
    outcome: Outcome,
    head: bool,
    warning: Option<&'static str>,
) -> Response {
    cache.count(outcome);
    let body = if head {
        Body::empty()
    } else {
        Body::from(entry.body.clone())
    };
    let mut response = Response::new(body);
    *response.status_mut() = entry.status;
    let headers = response.headers_mut();
    *headers = entry.headers.clone();
    headers.insert(
        header::AGE,
        HeaderValue::from(entry.age(Instant::now()).as_secs()),
    );
    headers.insert(X_CACHE.clone(), outcome.header());
    if outcome == Outcome::Stale {
        let warning = warning.unwrap_or(STALE_WARNING);
        headers.insert(WARNING.clone(), HeaderValue::from_static(warning));
    }
    response
}

/// Refreshes `entry` in the background with a copy of `request`'s head
/// (the same variant). A zone that fails leaves the entry as it is (a
/// later request may try again); one that answers 404 or 410 ends it.
fn refresh(edge: Arc<Edge>, peer: SocketAddr, request: &Request, key: String, entry: Arc<Entry>) {
    let mut refresh = http::Request::new(Body::empty());
    *refresh.method_mut() = Method::GET;
    *refresh.uri_mut() = request.uri().clone();
    *refresh.headers_mut() = request.headers().clone();
    refresh.headers_mut().remove(header::CONTENT_LENGTH);
    tokio::spawn(async move {
        let Some(cache) = edge.cache() else { return };
        let path = refresh.uri().path().to_owned();
        let route = edge.routes().resolve(&path);
        let id = request_id(&HeaderMap::new());
        let request_headers = refresh.headers().clone();
        let (response, _) = forward(&edge, route, peer, id, refresh, None).await;
        let status = response.status();
        if matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            cache.forget(&key);
            return;
        }
        let stored = match storable(status, response.headers()).zip(vary_names(response.headers()))
        {
            Some((freshness, vary)) => {
                let (parts, body) = response.into_parts();
                let idle = edge.options().idle_timeout;
                match read_up_to(body, cache.max_entry_bytes(), idle).await {
                    Read::Whole(bytes) => {
                        let entry = Entry::new(
                            status,
                            parts.headers,
                            bytes,
                            &request_headers,
                            vary,
                            freshness,
                        );
                        cache.insert(key, &path, entry);
                        true
                    }
                    Read::TooLarge(_) | Read::Failed(_) => false,
                }
            }
            None => false,
        };
        if !stored {
            tracing::debug!(
                path,
                status = status.as_u16(),
                "background refresh not stored"
            );
            entry.refresh_failed();
        }
    });
}
