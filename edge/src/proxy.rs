//! The proxy handler: one request in, one streamed request to the owning
//! zone, one streamed response back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::uri::{PathAndQuery, Scheme};
use http::{Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error_page;
use crate::forward::{set_forwarded, strip_hop_by_hop};
use crate::routes::RouteTable;

/// Path of the edge's own liveness endpoint (no zone owns `/_edge`).
pub const HEALTH_PATH: &str = "/_edge/health";

/// Shared state: the route table and one pooled client for every upstream.
pub struct Edge {
    routes: RouteTable,
    client: Client<HttpConnector, Body>,
    response_timeout: Duration,
}

impl Edge {
    /// An edge over `routes`. Upstream connections are pooled and kept
    /// alive; connecting gives up after `connect_timeout` (→ 502), waiting
    /// for response headers after `response_timeout` (→ 504).
    pub fn new(routes: RouteTable, connect_timeout: Duration, response_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        Self {
            routes,
            client,
            response_timeout,
        }
    }

    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }
}

/// The edge's router. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn app(edge: Arc<Edge>) -> Router {
    Router::new()
        .route(HEALTH_PATH, get(|| async { "ok" }))
        .fallback(proxy)
        .with_state(edge)
}

async fn proxy(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let started = Instant::now();
    let route = edge.routes.resolve(request.uri().path());
    let zone = route.zone;
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let path_and_query = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(route.upstream.clone());
    parts.path_and_query = Some(path_and_query);
    match Uri::from_parts(parts) {
        Ok(uri) => *request.uri_mut() = uri,
        Err(err) => {
            tracing::warn!(%path, "cannot build upstream uri: {err}");
            return http::StatusCode::BAD_REQUEST.into_response();
        }
    }
    *request.version_mut() = Version::HTTP_11;
    strip_hop_by_hop(request.headers_mut());
    set_forwarded(request.headers_mut(), peer.ip(), "http");

    let response = match tokio::time::timeout(edge.response_timeout, edge.client.request(request))
        .await
    {
        Ok(Ok(mut response)) => {
            strip_hop_by_hop(response.headers_mut());
            response.map(Body::new)
        }
        Ok(Err(err)) => {
            tracing::warn!(zone = zone.name(), upstream = %route.upstream, %path, "upstream failed: {err}");
            error_page::bad_gateway(zone)
        }
        Err(_) => {
            tracing::warn!(zone = zone.name(), upstream = %route.upstream, %path, "upstream timed out");
            error_page::gateway_timeout(zone)
        }
    };
    tracing::info!(
        %method,
        %path,
        zone = zone.name(),
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "proxied"
    );
    response
}
