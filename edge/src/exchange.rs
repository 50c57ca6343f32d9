//! One request's exchange with the owning zone: the request made ready
//! for the upstream (hop-by-hop headers out, forwarding headers and the
//! request id in, written with its head; HTTP/1.1), an instance picked round-robin, a connection
//! from this thread's pool, the response streamed back. A failed connect
//! is retried once on another instance: the connection is opened before
//! the request is handed over, so nothing has been sent or read (not even
//! a body) and the request needs no copy. WebSocket upgrades on the routes that
//! allow them are spliced through.

use std::net::SocketAddr;
use std::pin::pin;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::uri::{Authority, PathAndQuery};
use http::{HeaderValue, StatusCode, Uri, Version, header};
use http_body::Body as _;
use http_body_util::Limited;

use crate::connections::ConnectionSlot;
use crate::error_page;
use crate::forward::{Forwarding, strip_hop_by_hop};
use crate::routes::Route;
use crate::state::Edge;
use crate::target::Target;
use crate::upgrade::{is_websocket_upgrade, set_websocket_upgrade, splice};
use crate::upstream_http1::SendError;

/// Sends `request` to an instance of `route`'s zone; returns the response
/// and the instance that answered. A WebSocket tunnel keeps `slot` (the
/// client connection's place under the caps) until it closes.
pub async fn forward(
    edge: &Edge,
    route: &Route,
    peer: SocketAddr,
    id: HeaderValue,
    mut request: Request,
    slot: Option<ConnectionSlot>,
) -> (Response, Option<Authority>) {
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
    let trusted = edge.is_trusted_proxy(peer.ip());
    let (mut parts, body) = request.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    // An HTTP/2 client names the host in `:authority`; HTTP/1.1 needs `Host`.
    if !parts.headers.contains_key(header::HOST)
        && let Some(host) = parts.uri.authority()
        && let Ok(host) = HeaderValue::from_str(host.as_str())
    {
        parts.headers.insert(header::HOST, host);
    }
    if upgrade {
        set_websocket_upgrade(&mut parts.headers);
    }
    let forwarding = Forwarding::new(
        &parts.headers,
        peer.ip().to_canonical(),
        edge.options().public_proto,
        trusted,
        id,
    );
    parts.version = Version::HTTP_11;
    parts.extensions = http::Extensions::new();
    let limit = usize::try_from(route.max_body_bytes).unwrap_or(usize::MAX);

    let group = &route.upstreams;
    let mut tried = None;
    let (index, connection) = loop {
        let Some(index) = group.pick(tried) else {
            return (unavailable(edge, target), None);
        };
        let authority = &group.get(index).authority;
        let connecting = pin!(edge.connect(authority));
        match connecting.await {
            Ok(connection) => break (index, connection),
            Err(err) => {
                tracing::warn!(zone = target.name(), upstream = %authority, "{err}");
                group.mark_failed(index, &err.to_string());
                if tried.is_none() && group.len() > 1 {
                    tried = Some(index);
                    continue;
                }
                return (unavailable(edge, target), Some(authority.clone()));
            }
        }
    };
    let authority = group.get(index).authority.clone();
    // Origin form (`/path?query`): the connection is to the instance.
    parts.uri = origin_form(&parts.uri);
    // A request without a body (most) needs neither the bound nor a box.
    let body = if body.is_end_stream() {
        Body::empty()
    } else {
        Body::new(Limited::new(body, limit))
    };
    let attempt = http::Request::from_parts(parts, body);
    // Pinned where it is made, not boxed: nothing copies it afterwards
    // (see `proxy::EdgeApp::answer`), and the box was an allocation past
    // the allocator's small sizes on every request (~450 instructions).
    let timeout = edge.options().response_timeout;
    let sending = pin!(connection.send(attempt, Some(forwarding), timeout));
    match sending.await {
        Ok(mut response) => {
            group.mark_ok(index);
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                let Some(client_upgrade) = client_upgrade else {
                    tracing::warn!(zone = target.name(), upstream = %authority, "switched protocols without an allowed upgrade");
                    return (error_page::bad_gateway(target), Some(authority));
                };
                let (parts, upstream) = response.into_parts();
                splice(
                    client_upgrade,
                    upstream,
                    authority.to_string(),
                    edge.options().idle_timeout,
                    slot,
                );
                return (Response::from_parts(parts, Body::empty()), Some(authority));
            }
            strip_hop_by_hop(response.headers_mut());
            (response.map(Body::new), Some(authority))
        }
        Err(SendError::TimedOut(_)) => {
            tracing::warn!(zone = target.name(), upstream = %authority, "no response within {timeout:?}");
            (error_page::gateway_timeout(target), Some(authority))
        }
        Err(err) => {
            if err.body_too_large() {
                return (
                    error_page::payload_too_large(route.max_body_bytes),
                    Some(authority),
                );
            }
            if err.is_connect() {
                group.mark_failed(index, &err.to_string());
            }
            tracing::warn!(zone = target.name(), upstream = %authority, "upstream failed: {err}");
            (unavailable(edge, target), Some(authority))
        }
    }
}

/// What a client gets when no instance of `target` answers: the 502 page,
/// or under development the page that waits for the zone to come back.
pub fn unavailable(edge: &Edge, target: Target) -> Response {
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

fn origin_form(original: &Uri) -> Uri {
    Uri::from(
        original
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
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
