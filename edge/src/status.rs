//! `GET /_edge/status`: every zone, its prefixes and instances, up or
//! down, and the last error seen for each; the cache's entries, bytes and
//! hit ratio; the open client connections per serving thread (under
//! development also the
//! zone that served the last page). Only for a loopback peer, or a
//! client in `--trusted-proxies` (the errors name internal addresses; a
//! loopback address named by `X-Forwarded-For` does not count); everyone
//! else gets 403.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse as _, Response};
use http::HeaderMap;
use serde::Serialize;

use crate::cache::{CacheStatus, EdgeCache};
use crate::client_ip::is_local_or_trusted;
use crate::error_page;
use crate::state::Edge;
use crate::upstream::UpstreamStatus;

#[derive(Serialize)]
pub struct ZoneStatus {
    zone: &'static str,
    prefixes: Vec<String>,
    up: bool,
    upstreams: Vec<UpstreamStatus>,
}

#[derive(Serialize)]
pub struct Status {
    zones: Vec<ZoneStatus>,
    /// The cache of anonymous pages (`null` when it is off).
    cache: Option<CacheStatus>,
    /// Open client connections per serving thread (see `balance`).
    connections_per_thread: Vec<usize>,
    /// Development only: the zone that served the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_page: Option<&'static str>,
}

pub async fn status(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let client = edge.client_addr(peer.ip(), &headers);
    if !is_local_or_trusted(client, &headers, &edge.options().trusted_proxies) {
        return error_page::forbidden();
    }
    let routes = edge.routes();
    let zones = routes
        .groups()
        .into_iter()
        .map(|group| {
            let upstreams = group.status();
            ZoneStatus {
                zone: group.target.name(),
                prefixes: routes
                    .routes()
                    .iter()
                    .filter(|r| r.target == group.target)
                    .map(|r| r.prefix.clone())
                    .collect(),
                up: upstreams.iter().any(|u| u.up),
                upstreams,
            }
        })
        .collect();
    let last_page = edge
        .dev_builds()
        .and_then(|dev| dev.last_page())
        .map(|zone| zone.name());
    let cache = edge.cache().map(EdgeCache::status);
    Json(Status {
        zones,
        cache,
        connections_per_thread: edge.connections_per_thread().unwrap_or_default(),
        last_page,
    })
    .into_response()
}
