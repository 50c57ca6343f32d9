//! The edge: a small reverse proxy that makes the zones look like one site.
//!
//! * [`manifest`]: the route manifest (compiled-in default or TOML file).
//! * [`routes`]: the validated route table, matched on whole path
//!   segments, longest prefix first.
//! * [`upstream`]: each zone's instances, round-robin, passive health.
//! * [`upstream_pool`]: kept-alive HTTP/1.1 connections to them, per thread.
//! * [`exchange`]: one request's exchange with the owning zone (retry,
//!   upgrade, limits).
//! * [`cache`], [`cache_policy`], [`cached`]: the cache of anonymous
//!   public pages (the store; what may be stored; how requests use it);
//!   [`buffered_body`]: a zone's answer read whole, at the zone's pace;
//!   [`purge`]: `POST /_edge/purge`.
//! * [`health`]: active health probes.
//! * [`path`]: paths refused before routing (dot segments, encoded slashes).
//! * [`forward`]: headers on the way through (hop-by-hop, forwarding,
//!   request id, security headers).
//! * [`trusted`]: `--trusted-proxies`, addresses and CIDR ranges.
//! * [`client_ip`]: who the client is (peer, or behind trusted proxies).
//! * [`rate_limit`]: per-client-IP token buckets from the manifest.
//! * [`upgrade`]: WebSocket upgrades on the routes that allow them.
//! * [`target`]: what a route sends to: a zone or the dev-only mock provider.
//! * [`state`]: the shared state ([`Edge`]); [`options`]: its options.
//! * [`proxy`]: the handler: checks, then the cache or the exchange.
//! * [`access_log`]: the response body that counts bytes, enforces the
//!   idle timeout and logs each request when it ends.
//! * [`dev_reload`]: development live-reload sockets through the edge.
//! * [`dev_builds`]: development build failures and the last page's zone.
//! * [`status`]: the `/_edge/status` JSON (loopback and trusted proxies only).
//! * [`error_page`]: the branded pages the edge answers with itself.
//! * [`serve`]: the accept loop (h1 + h2c, header and HTTP/2 limits,
//!   graceful drain); [`client_http1`]: the edge's own HTTP/1.1 for
//!   plain requests (`GET`/`HEAD` without a body), everything else handed
//!   to hyper with [`rewind`]; [`cores`]: one single-threaded runtime per core,
//!   each with its own `SO_REUSEPORT` listener; [`balance`]: new
//!   connections spread evenly over those threads.
//! * [`prefix`]: path prefixes as routes and limits name them.
//! * [`connections`]: the connection caps, in all and per client, that
//!   WebSocket tunnels count against too.
//! * [`config`]: command-line and environment settings;
//!   [`zone_upstreams`]: the per-zone `--<zone>-upstream` flags, made from
//!   the zone manifest.

pub mod access_log;
pub mod balance;
pub mod buffered_body;
pub mod cache;
pub mod cache_policy;
pub mod cached;
pub mod chunked;
pub mod client_http1;
pub mod client_ip;
pub mod config;
pub mod connections;
pub mod cores;
pub mod dev_builds;
pub mod dev_reload;
pub mod error_page;
pub mod exchange;
pub mod forward;
pub mod header_maps;
pub mod health;
pub mod manifest;
pub mod options;
pub mod path;
pub mod prefix;
pub mod proxy;
pub mod purge;
pub mod rate_limit;
pub mod rewind;
pub mod routes;
pub mod serve;
pub mod spans;
pub mod state;
pub mod status;
pub mod target;
pub mod trusted;
pub mod upgrade;
pub mod upstream;
pub mod upstream_body;
pub mod upstream_connection;
pub mod upstream_http1;
pub mod upstream_pool;
pub mod write_stall;
pub mod zone_upstreams;

pub use config::Config;
pub use options::EdgeOptions;
pub use proxy::app;
pub use routes::RouteTable;
pub use state::Edge;
