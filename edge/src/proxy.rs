//! The proxy handler: one request in, one streamed request to an instance
//! of the owning zone, one streamed response back. Rate limits are applied
//! first; WebSocket upgrades are spliced through on the routes that allow
//! them; a failed connect is retried once on another instance when that is
//! safe.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::response::Response;
use axum::routing::get;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Method, StatusCode, Uri, Version, header};
use http_body_util::Limited;

use crate::access_log::{Entry, LoggedBody};
use crate::connections::ConnectionSlot;
use crate::dev_builds::{self, BUILDS_PREFIX, builds};
use crate::dev_reload::{RELOAD_PREFIX, reload_socket};
use crate::error_page;
use crate::forward::{
    X_REQUEST_ID, add_security_headers, request_id, set_forwarded, strip_hop_by_hop,
};
use contracts::zone::{EDGE_HEALTH_PATH, EDGE_STATUS_PATH};

use crate::path::check_path;
use crate::routes::Route;
use crate::state::Edge;
use crate::status;
use crate::target::Target;
use crate::upgrade::{is_websocket_upgrade, set_websocket_upgrade, splice};

/// The edge's router. Serve it with connect info (see `serve`).
pub fn app(edge: Arc<Edge>) -> Router {
    let mut router = Router::new()
        .route(EDGE_HEALTH_PATH, get(|| async { "ok" }))
        .route(EDGE_STATUS_PATH, get(status::status));
    if !edge.options().dev_reload.is_empty() {
        router = router.route(&format!("{RELOAD_PREFIX}/{{zone}}"), get(reload_socket));
    }
    if edge.dev_builds().is_some() {
        router = router.route(
            &format!("{BUILDS_PREFIX}/{{zone}}"),
            get(builds)
                .put(builds)
                .delete(builds)
                .layer(DefaultBodyLimit::max(dev_builds::MAX_FAILURE_BYTES)),
        );
    }
    router.fallback(proxy).with_state(edge)
}

async fn proxy(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // Development: a page the browser fetched ahead (speculation rules) is
    // not one the user has looked at.
    let speculative = edge.dev_builds().is_some() && request.headers().contains_key("sec-purpose");
    let id = request_id(request.headers());
    let (mut response, target, upstream) = match check_path(&path) {
        Err(problem) => (error_page::bad_request(problem), None, None),
        Ok(()) => {
            let route = edge.routes().resolve(&path);
            match edge.rate_limited(&request, peer.ip()) {
                Some(refusal) => (refusal, Some(route.target), None),
                None => match failed_build(&edge, route.target, &request) {
                    Some(page) => (page, Some(route.target), None),
                    None => {
                        let (response, upstream) =
                            forward(&edge, route, peer, id.clone(), request).await;
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
        request_id: id.to_str().unwrap_or("?").to_owned(),
        method: method.to_string(),
        path,
        zone: target.map_or("-", |t| t.name()),
        upstream: upstream.unwrap_or_else(|| "-".to_owned()),
        status: response.status().as_u16(),
    };
    response.map(|body| {
        Body::new(LoggedBody::new(
            body,
            entry,
            started,
            edge.options().idle_timeout,
        ))
    })
}

/// Sends `request` to an instance of `route`'s zone; returns the response
/// and the instance that answered.
async fn forward(
    edge: &Edge,
    route: &Route,
    peer: SocketAddr,
    id: HeaderValue,
    mut request: Request,
) -> (Response, Option<String>) {
    let target = route.target;
    if let Some(length) = content_length(&request)
        && length > route.max_body_bytes
    {
        return (error_page::payload_too_large(route.max_body_bytes), None);
    }
    // Only a WebSocket on a route that allows it switches; any other
    // upgrade request (h2c, unknown tokens) goes on as a plain request,
    // its Upgrade/Connection headers stripped with the hop-by-hop ones.
    let upgrade = route.websocket && is_websocket_upgrade(request.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    // Not sent upstream; a tunnel keeps it until it closes.
    let slot = request.extensions_mut().remove::<ConnectionSlot>();
    let trusted = edge.is_trusted_proxy(peer.ip());
    let (mut parts, body) = request.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    if upgrade {
        set_websocket_upgrade(&mut parts.headers);
    }
    set_forwarded(
        &mut parts.headers,
        peer.ip().to_canonical(),
        edge.options().public_proto,
        trusted,
    );
    parts.headers.insert(X_REQUEST_ID.clone(), id);
    parts.version = Version::HTTP_11;
    // Only a request without a body can be replayed on another instance.
    let replayable =
        is_idempotent(&parts.method) && content_length_is_zero(&parts.headers) && !upgrade;
    let limit = usize::try_from(route.max_body_bytes).unwrap_or(usize::MAX);
    let mut body = Some(Body::new(Limited::new(body, limit)));

    let group = &route.upstreams;
    let mut tried = None;
    loop {
        let Some(index) = group.pick(tried) else {
            return (unavailable(edge, target), None);
        };
        let upstream = group.get(index);
        let address = upstream.authority.to_string();
        let mut attempt =
            http::Request::from_parts(parts.clone(), body.take().unwrap_or_else(Body::empty));
        *attempt.uri_mut() = upstream_uri(&upstream.authority, attempt.uri());
        let outcome = tokio::time::timeout(
            edge.options().response_timeout,
            edge.client().request(attempt),
        )
        .await;
        match outcome {
            Ok(Ok(mut response)) => {
                group.mark_ok(index);
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    let Some(client_upgrade) = client_upgrade else {
                        tracing::warn!(zone = target.name(), upstream = %address, "switched protocols without an allowed upgrade");
                        return (error_page::bad_gateway(target), Some(address));
                    };
                    splice(
                        client_upgrade,
                        hyper::upgrade::on(&mut response),
                        address.clone(),
                        edge.options().idle_timeout,
                        slot,
                    );
                    let (parts, _) = response.into_parts();
                    return (Response::from_parts(parts, Body::empty()), Some(address));
                }
                strip_hop_by_hop(response.headers_mut());
                return (response.map(Body::new), Some(address));
            }
            Ok(Err(err)) if err.is_connect() => {
                tracing::warn!(zone = target.name(), upstream = %address, "connect failed: {err}");
                group.mark_failed(index, &format!("connect failed: {err}"));
                if replayable && tried.is_none() && group.len() > 1 {
                    tried = Some(index);
                    continue;
                }
                return (unavailable(edge, target), Some(address));
            }
            Ok(Err(err)) => {
                if body_too_large(&err) {
                    return (
                        error_page::payload_too_large(route.max_body_bytes),
                        Some(address),
                    );
                }
                tracing::warn!(zone = target.name(), upstream = %address, "upstream failed: {err}");
                return (unavailable(edge, target), Some(address));
            }
            Err(_) => {
                tracing::warn!(zone = target.name(), upstream = %address, "no response within {:?}", edge.options().response_timeout);
                return (error_page::gateway_timeout(target), Some(address));
            }
        }
    }
}

/// What a client gets when no instance of `target` answers: the 502 page,
/// or under development the page that waits for the zone to come back.
fn unavailable(edge: &Edge, target: Target) -> Response {
    match edge.dev_builds() {
        Some(dev) => {
            let failure = match target {
                Target::Zone(zone) => dev.failure(zone),
                Target::MockIdp => None,
            };
            error_page::waiting(target, failure.as_deref())
        }
        None => error_page::bad_gateway(target),
    }
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

fn upstream_uri(authority: &http::uri::Authority, original: &Uri) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(
        original
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"))
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn content_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn content_length_is_zero(headers: &http::HeaderMap) -> bool {
    !headers.contains_key(header::TRANSFER_ENCODING)
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == "0"))
}

/// True when sending failed because the client's body passed the limit.
fn body_too_large(err: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}
