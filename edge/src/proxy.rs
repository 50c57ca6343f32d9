//! The proxy handler: one request in, checked (path, rate limits, a
//! failed development build), answered from the edge cache when it may
//! be (`cached`), else exchanged with an instance of the owning zone
//! (`exchange`); the response streamed back with the request id, the
//! security headers and an access-log line when it ends.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use contracts::zone::{EDGE_HEALTH_PATH, EDGE_STATUS_PATH};
use http_body::Body as _;
use http_body_util::Either;
use hyper::body::Incoming;
use tower::ServiceExt as _;

use crate::access_log::{Entry, LoggedBody};
use crate::cache_policy::request_may_use_cache;
use crate::connections::ConnectionSlot;
use crate::dev_builds::{self, BUILDS_PREFIX, builds};
use crate::dev_reload::{RELOAD_PREFIX, reload_socket};
use crate::error_page;
use crate::exchange::forward;
use crate::forward::{X_REQUEST_ID, add_security_headers, request_id};
use crate::path::check_path;
use crate::purge::{PURGE_PATH, purge};
use crate::state::Edge;
use crate::target::Target;
use crate::{cached, status};

/// The edge as `serve` runs it: its own `/_edge/…` routes through an
/// axum router, every other request straight to [`proxy_request`] (a
/// router's matching, extensions and boxed futures were a measurable share
/// of a proxied request's CPU).
#[derive(Clone)]
pub struct EdgeApp {
    edge: Arc<Edge>,
    own: Router,
}

/// Where the edge's own routes live; no zone owns it.
const OWN_PREFIX: &str = "/_edge/";

/// The edge's app over `edge`.
pub fn app(edge: Arc<Edge>) -> EdgeApp {
    let mut router = Router::new()
        .route(EDGE_HEALTH_PATH, get(|| async { "ok" }))
        .route(EDGE_STATUS_PATH, get(status::status))
        .route(PURGE_PATH, post(purge));
    if !edge.options().dev_reload.is_empty() {
        router = router.route(&format!("{RELOAD_PREFIX}/{{zone}}"), get(reload_socket));
    }
    if let Some(dev) = edge.dev_builds() {
        let state = (dev.clone(), edge.options().trusted_proxies.clone());
        router = router.route(
            &format!("{BUILDS_PREFIX}/{{zone}}"),
            get(builds)
                .put(builds)
                .delete(builds)
                .layer(DefaultBodyLimit::max(dev_builds::MAX_FAILURE_BYTES))
                .with_state(state),
        );
    }
    let own = router.fallback(proxy).with_state(edge.clone());
    EdgeApp { edge, own }
}

impl EdgeApp {
    /// The edge it answers for.
    pub fn edge(&self) -> &Arc<Edge> {
        &self.edge
    }

    /// Answers one request from `peer` on the connection that holds `slot`.
    /// A proxied response's body is the logged one itself, not boxed again.
    pub async fn call(
        self,
        peer: SocketAddr,
        slot: ConnectionSlot,
        request: http::Request<Incoming>,
    ) -> Response<Either<LoggedBody, Body>> {
        let request = request.map(|body| {
            if body.is_end_stream() {
                Body::empty() // no allocation for the most common case
            } else {
                Body::new(body)
            }
        });
        pin!(self.answer(peer, slot, request)).await
    }

    /// [`EdgeApp::call`] for a request whose body is already a [`Body`]
    /// (`client_http1`'s, which have none).
    pub async fn answer(
        self,
        peer: SocketAddr,
        slot: ConnectionSlot,
        mut request: Request,
    ) -> Response<Either<LoggedBody, Body>> {
        if request.uri().path().starts_with(OWN_PREFIX) {
            request.extensions_mut().insert(ConnectInfo(peer));
            // A WebSocket tunnel keeps it (see `connections`).
            request.extensions_mut().insert(slot);
            // Boxed, so that the proxied requests' futures do not carry
            // the router's.
            let routed = Box::pin(self.own.oneshot(request));
            return match routed.await {
                Ok(response) => response.map(Either::Right),
                Err(never) => match never {},
            };
        }
        // Pinned where it is made, here and down the chain: with
        // `proxy_request(…).await` rustc keeps room for the future twice in
        // this one's state (the value made, and the copy awaited), and so
        // on at every level; a request's future was 11 KB, copied whole
        // into place for every request. Boxed futures are likewise made in
        // a statement of their own, never inside the awaited expression.
        let proxied = pin!(proxy_request(&self.edge, peer, Some(slot), request));
        proxied.await.map(Either::Left)
    }
}

/// The router's fallback: a `/_edge/…` path that is not the edge's own.
async fn proxy(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let slot = request.extensions_mut().remove::<ConnectionSlot>();
    proxy_request(&edge, peer, slot, request)
        .await
        .map(Body::new)
}

/// Checks, then the cache or the exchange with the zone; the response
/// gets the request id, the security headers and its access-log line.
pub async fn proxy_request(
    edge: &Arc<Edge>,
    peer: SocketAddr,
    slot: Option<ConnectionSlot>,
    request: Request,
) -> Response<LoggedBody> {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let path = uri.path();
    // Development: a page the browser fetched ahead (speculation rules) is
    // not one the user has looked at.
    let speculative = edge.dev_builds().is_some() && request.headers().contains_key("sec-purpose");
    let id = request_id(request.headers());
    let (mut response, target, upstream) = match check_path(path) {
        Err(problem) => (error_page::bad_request(problem), None, None),
        Ok(()) => {
            let route = edge.routes().resolve(path);
            match edge.rate_limited(&request, peer.ip(), started) {
                Some(refusal) => (refusal, Some(route.target), None),
                None => match failed_build(edge, route.target, &request) {
                    Some(page) => (page, Some(route.target), None),
                    None => {
                        // A request with a body (a GET may have one) is not
                        // what its key describes: straight to the zone.
                        let cache = edge.cache().filter(|_| {
                            request.body().is_end_stream()
                                && request_may_use_cache(&method, request.headers())
                        });
                        let (response, upstream) = match cache {
                            // Boxed: its state is larger than the exchange's,
                            // and every request's future would carry it.
                            Some(cache) => {
                                let serving = Box::pin(cached::serve(
                                    edge,
                                    cache,
                                    route,
                                    peer,
                                    id.clone(),
                                    request,
                                ));
                                serving.await
                            }
                            None => {
                                let forwarding =
                                    pin!(forward(edge, route, peer, id.clone(), request, slot));
                                forwarding.await
                            }
                        };
                        (response, Some(route.target), upstream)
                    }
                },
            }
        }
    };
    if let (Some(dev), Some(Target::Zone(zone))) = (edge.dev_builds(), target)
        && !speculative
        && dev_builds::is_page(&method, response.status(), response.headers())
    {
        dev.saw_page(zone);
    }
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id.clone());
    add_security_headers(
        response.headers_mut(),
        edge.options().public_proto == "https",
    );
    let entry = Entry {
        request_id: id,
        method,
        uri,
        zone: target.map_or("-", |t| t.name()),
        upstream,
        status: response.status().as_u16(),
    };
    response.map(|body| LoggedBody::new(body, entry, started, edge.options().idle_timeout))
}

/// Under development, a page load from a zone whose last build failed
/// gets the waiting page with the error rather than the stale zone.
fn failed_build(edge: &Edge, target: Target, request: &Request) -> Option<Response> {
    let (dev, Target::Zone(zone)) = (edge.dev_builds()?, target) else {
        return None;
    };
    if !dev_builds::is_navigation(request.method(), request.headers()) {
        return None;
    }
    let failure = dev.failure(zone)?;
    Some(error_page::waiting(target, Some(&failure)))
}
