//! The edge's shared state: the route table, the rate limiter, one pooled
//! client for every instance, and the options.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::client_ip::{self, ClientAddr};
use crate::dev_builds::DevBuilds;
use crate::dev_reload::ReloadTarget;
use crate::error_page;
use crate::rate_limit::{RateLimiter, retry_after_secs};
use crate::routes::RouteTable;
use crate::trusted::TrustedProxies;

/// How the edge talks to the zones and to clients.
#[derive(Clone, Debug)]
pub struct EdgeOptions {
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// `--trusted-proxies`: addresses and ranges of the proxies in front.
    pub trusted_proxies: TrustedProxies,
    /// `https` when TLS ends in front of the edge.
    pub public_proto: &'static str,
    /// A response body or an upgraded connection that stalls this long is cut off.
    pub idle_timeout: Duration,
    /// Development: each zone's live-reload server, reached at
    /// `/_edge/reload/<zone>` (empty in production).
    pub dev_reload: Vec<ReloadTarget>,
    /// Development: a zone that does not answer, or whose last build
    /// failed, gets the waiting page (`error_page::waiting`) instead of the
    /// 502 page; `cargo xtask dev` reports builds (`dev_builds`).
    pub dev_waiting_page: bool,
    /// Whether the route table's `[[limit]]`s apply (off only for load tests).
    pub rate_limits: bool,
}

impl Default for EdgeOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(30),
            trusted_proxies: TrustedProxies::default(),
            public_proto: "http",
            idle_timeout: Duration::from_secs(60),
            dev_reload: Vec::new(),
            dev_waiting_page: false,
            rate_limits: true,
        }
    }
}

/// Shared state: the route table, the rate limiter and one pooled client
/// for every instance.
pub struct Edge {
    routes: RouteTable,
    client: Client<HttpConnector, Body>,
    limiter: Option<RateLimiter>,
    /// Development only (`dev_waiting_page`): the zones' builds.
    dev_builds: Option<DevBuilds>,
    options: EdgeOptions,
}

impl Edge {
    /// An edge over `routes`. Upstream connections are pooled and kept alive.
    pub fn new(routes: RouteTable, options: EdgeOptions) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(options.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        let limiter = (options.rate_limits && !routes.limits().is_empty())
            .then(|| RateLimiter::new(routes.limits().to_vec()));
        let dev_builds = options.dev_waiting_page.then(DevBuilds::default);
        Self {
            routes,
            client,
            limiter,
            dev_builds,
            options,
        }
    }

    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    pub fn client(&self) -> &Client<HttpConnector, Body> {
        &self.client
    }

    pub fn options(&self) -> &EdgeOptions {
        &self.options
    }

    /// The zones' builds, under development only.
    pub fn dev_builds(&self) -> Option<&DevBuilds> {
        self.dev_builds.as_ref()
    }

    /// The client (see [`client_ip::client`]).
    pub fn client_addr(&self, peer: IpAddr, headers: &http::HeaderMap) -> ClientAddr {
        client_ip::client(peer, headers, &self.options.trusted_proxies)
    }

    /// Whether the peer is one of `--trusted-proxies` (its forwarding
    /// headers are then extended, not replaced).
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        self.options.trusted_proxies.contains(peer)
    }

    /// A 429 page when the request is over one of the limits.
    pub(crate) fn rate_limited(&self, request: &Request, peer: IpAddr) -> Option<Response> {
        let limiter = self.limiter.as_ref()?;
        let client = self.client_addr(peer, request.headers()).ip;
        let wait = limiter
            .check(
                request.method(),
                request.uri().path(),
                client,
                Instant::now(),
            )
            .err()?;
        Some(error_page::too_many_requests(retry_after_secs(wait)))
    }
}
