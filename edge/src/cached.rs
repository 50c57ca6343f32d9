//! Anonymous `GET`/`HEAD` requests through the edge cache (what may be
//! stored is `cache_policy`'s call, the store is `cache`):
//!
//! * fresh copy: served, `X-Cache: HIT` with its `Age`;
//! * past its lifetime but within `stale-while-revalidate`: served,
//!   `X-Cache: STALE`, and one request per key refreshes it in the
//!   background;
//! * otherwise the request goes to the zone (`X-Cache: MISS`); concurrent
//!   misses of one key wait for the first, whose response fills the cache
//!   as it streams to its client; when the zone is down or answers 5xx, a
//!   copy within `stale-if-error` is served instead (`X-Cache: STALE`).
//!
//! A key whose last response could not be stored is passed straight to
//! the zone for a while (`cache::PASS_FOR`), so pages that are never
//! cached pay no more than a lookup.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::Authority;
use http::{Method, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;

use crate::cache::{EdgeCache, Entry, Found, Lead, LeaderGuard, Outcome, Use};
use crate::cache_policy::{Freshness, storable, vary_names};
use crate::exchange::forward;
use crate::forward::request_id;
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
    let key = key(&request);
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
                let wait = edge.options().response_timeout;
                let _ = tokio::time::timeout(wait, done.changed()).await;
                waited = true;
            }
        }
    };
    // The values of the headers a response may `Vary` on, for storing it.
    let request_headers = leader.as_ref().map(|_| request.headers().clone());
    let path = request.uri().path().to_owned();
    let (mut response, upstream) = forward(edge, route, peer, id, request, None).await;
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
    let storable =
        storable(response.status(), response.headers()).zip(vary_names(response.headers()));
    match storable {
        Some((freshness, vary)) => {
            let fill = Fill {
                cache: cache.clone(),
                key,
                path,
                status: response.status(),
                headers: response.headers().clone(),
                request_headers,
                vary,
                freshness,
                _leader: leader,
            };
            let response = response.map(|body| Body::new(FillBody::new(body, fill)));
            (response, upstream)
        }
        None => {
            if !response.status().is_server_error() {
                cache.pass(key, &path);
            }
            (response, upstream)
        }
    }
}

/// The cache key: host, path and query (only `GET` responses are stored;
/// `HEAD` is answered from them).
fn key(request: &Request) -> String {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(Authority::as_str))
        .unwrap_or("");
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut key = String::with_capacity(host.len() + path.len());
    key.push_str(host);
    key.push_str(path);
    key
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
/// (the same variant); on failure the entry stays and may be retried.
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
        let stored = match storable(status, response.headers()).zip(vary_names(response.headers()))
        {
            Some((freshness, vary)) => {
                let (parts, body) = response.into_parts();
                let limit = cache.max_entry_bytes();
                match http_body_util::Limited::new(body, limit).collect().await {
                    Ok(body) => {
                        let entry = Entry::new(
                            status,
                            parts.headers,
                            body.to_bytes(),
                            &request_headers,
                            vary,
                            freshness,
                        );
                        cache.insert(key, &path, entry);
                        true
                    }
                    Err(_) => false,
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

/// What a leader's response needs to become an entry.
struct Fill {
    cache: EdgeCache,
    key: String,
    path: String,
    status: StatusCode,
    headers: HeaderMap,
    request_headers: HeaderMap,
    vary: Vec<HeaderName>,
    freshness: Freshness,
    /// Waiters wake when the fill is done (or abandoned).
    _leader: LeaderGuard,
}

/// The leader's response body: streamed to its client as it comes, and
/// copied; at its end the copy is stored. A body that grows past the
/// largest entry, fails or is cut off is not stored.
struct FillBody {
    inner: Body,
    copy: Vec<Bytes>,
    copied: usize,
    fill: Option<Fill>,
}

impl FillBody {
    fn new(inner: Body, fill: Fill) -> Self {
        Self {
            inner,
            copy: Vec::new(),
            copied: 0,
            fill: Some(fill),
        }
    }

    fn store(&mut self) {
        let Some(fill) = self.fill.take() else { return };
        let body = match self.copy.len() {
            1 => self.copy.pop().unwrap_or_default(),
            _ => Bytes::from(self.copy.concat()),
        };
        let entry = Entry::new(
            fill.status,
            fill.headers,
            body,
            &fill.request_headers,
            fill.vary,
            fill.freshness,
        );
        fill.cache.insert(fill.key, &fill.path, entry);
    }
}

impl http_body::Body for FillBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) if this.fill.is_some() => match frame.data_ref() {
                Some(data) => {
                    this.copied += data.len();
                    let limit = this.fill.as_ref().map_or(0, |f| f.cache.max_entry_bytes());
                    if this.copied > limit {
                        this.fill = None;
                        this.copy = Vec::new();
                    } else {
                        this.copy.push(data.clone());
                    }
                }
                // Trailers: not kept, so the copy would not be whole.
                None => this.fill = None,
            },
            Poll::Ready(Some(Err(_))) => this.fill = None,
            Poll::Ready(None) => this.store(),
            _ => {}
        }
        if this.inner.is_end_stream() {
            this.store();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
