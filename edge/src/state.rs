//! The edge's shared state: the route table, the rate limiter, the cache
//! of anonymous pages, the options and how its connections are spread
//! over the serving threads. Upstream connections are pooled
//! per thread (`upstream_pool`), not here.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::uri::Authority;

use crate::balance::Spread;
use crate::cache::EdgeCache;
use crate::client_ip::{self, ClientAddr};
use crate::dev_builds::DevBuilds;
use crate::error_page;
use crate::options::EdgeOptions;
use crate::rate_limit::{RateLimiter, retry_after_secs};
use crate::routes::RouteTable;
use crate::upstream_body::UpstreamBody;
use crate::upstream_connection::Connection;
use crate::upstream_http1::SendError;
use crate::upstream_pool::UpstreamPool;

/// Shared state: the route table, the rate limiter, the cache and the
/// options.
pub struct Edge {
    routes: RouteTable,
    limiter: Option<RateLimiter>,
    /// Anonymous pages the zones marked public (`None` with `--cache-bytes 0`).
    cache: Option<EdgeCache>,
    /// Development only (`dev_waiting_page`): the zones' builds.
    dev_builds: Option<Arc<DevBuilds>>,
    options: EdgeOptions,
    /// The serving threads' connections, once they serve.
    spread: OnceLock<Spread>,
}

impl Edge {
    /// An edge over `routes`.
    pub fn new(routes: RouteTable, options: EdgeOptions) -> Self {
        let limiter = (options.rate_limits && !routes.limits().is_empty())
            .then(|| RateLimiter::new(routes.limits().to_vec()));
        let dev_builds = options
            .dev_waiting_page
            .then(|| Arc::new(DevBuilds::default()));
        let cache = (options.cache_bytes > 0).then(|| EdgeCache::new(options.cache_bytes));
        Self {
            routes,
            limiter,
            cache,
            dev_builds,
            options,
            spread: OnceLock::new(),
        }
    }

    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    /// A connection to `authority` from this thread's pool, ready for a
    /// request (nothing is sent yet, so a failure here may be retried
    /// elsewhere).
    pub async fn connect(&self, authority: &Authority) -> Result<Connection, SendError> {
        Connection::get(
            &UpstreamPool::this_thread(),
            authority,
            self.options.connect_timeout,
        )
        .await
    }

    /// Sends `request` to `authority` over a pooled connection, as it is
    /// (the edge's own requests: probes, the dev reload socket).
    pub async fn send(
        &self,
        authority: &Authority,
        request: http::Request<Body>,
    ) -> Result<http::Response<UpstreamBody>, SendError> {
        self.connect(authority)
            .await?
            .send(request, None, self.options.response_timeout)
            .await
    }

    /// Records the threads that serve this edge (the first call counts).
    pub fn serve_on(&self, spread: Spread) {
        let _ = self.spread.set(spread);
    }

    /// Open client connections per serving thread (`None` before they
    /// serve).
    pub fn connections_per_thread(&self) -> Option<Vec<usize>> {
        self.spread.get().map(Spread::open)
    }

    /// The cache of anonymous pages, unless it is off.
    pub fn cache(&self) -> Option<&EdgeCache> {
        self.cache.as_ref()
    }

    pub fn options(&self) -> &EdgeOptions {
        &self.options
    }

    /// The zones' builds, under development only.
    pub fn dev_builds(&self) -> Option<&Arc<DevBuilds>> {
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

    /// A 429 page when the request, arriving at `now`, is over one of the
    /// limits.
    pub(crate) fn rate_limited(
        &self,
        request: &Request,
        peer: IpAddr,
        now: Instant,
    ) -> Option<Response> {
        let limiter = self.limiter.as_ref()?;
        // The client is worked out only for a request a limit covers.
        let client = || self.client_addr(peer, request.headers()).ip;
        let wait = limiter
            .check(request.method(), request.uri().path(), client, now)
            .err()?;
        Some(error_page::too_many_requests(retry_after_secs(wait)))
    }
}
