//! Settings of the edge binary, read once in `main`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use http::uri::Authority;
use shared_auth::Zone;

use crate::routes::{RouteError, RouteTable};

/// The edge reverse proxy: one origin in front of the identity, shop and
/// public zones, routing by path prefix.
///
/// Environment variables (each also a flag):
/// `EDGE_LISTEN`, `EDGE_IDENTITY_UPSTREAM`, `EDGE_SHOP_UPSTREAM`,
/// `EDGE_PUBLIC_UPSTREAM`, `EDGE_CONNECT_TIMEOUT_MS`,
/// `EDGE_RESPONSE_TIMEOUT_SECS`, `RUST_LOG`.
#[derive(Debug, Clone, Parser)]
#[command(name = "edge", version)]
pub struct Config {
    /// Address the edge listens on.
    #[arg(long, env = "EDGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `host:port` of the identity zone (default 127.0.0.1:3001).
    #[arg(long, env = "EDGE_IDENTITY_UPSTREAM")]
    pub identity_upstream: Option<Authority>,
    /// `host:port` of the shop zone (default 127.0.0.1:3002).
    #[arg(long, env = "EDGE_SHOP_UPSTREAM")]
    pub shop_upstream: Option<Authority>,
    /// `host:port` of the public zone (default 127.0.0.1:3003).
    #[arg(long, env = "EDGE_PUBLIC_UPSTREAM")]
    pub public_upstream: Option<Authority>,
    /// How long to wait for a zone to accept a connection before answering 502.
    #[arg(long, env = "EDGE_CONNECT_TIMEOUT_MS", default_value_t = 2_000)]
    pub connect_timeout_ms: u64,
    /// How long to wait for a zone's response headers before answering 504.
    #[arg(long, env = "EDGE_RESPONSE_TIMEOUT_SECS", default_value_t = 30)]
    pub response_timeout_secs: u64,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The upstream configured for `zone`, or its default address.
    pub fn upstream(&self, zone: Zone) -> Authority {
        let configured = match zone {
            Zone::Identity => &self.identity_upstream,
            Zone::Shop => &self.shop_upstream,
            Zone::Public => &self.public_upstream,
        };
        configured
            .clone()
            .unwrap_or_else(|| default_authority(zone))
    }

    /// The route table these settings describe.
    pub fn route_table(&self) -> Result<RouteTable, RouteError> {
        RouteTable::from_manifest(|zone| Some(self.upstream(zone)))
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn response_timeout(&self) -> Duration {
        Duration::from_secs(self.response_timeout_secs)
    }
}

fn default_authority(zone: Zone) -> Authority {
    let addr = zone.default_addr();
    Authority::from_maybe_shared(addr.to_string())
        .unwrap_or_else(|_| Authority::from_static("127.0.0.1:80"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_the_zone_ports() {
        let config = Config::try_parse_from(["edge"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.upstream(Zone::Shop).as_str(), "127.0.0.1:3002");
        assert_eq!(config.upstream(Zone::Identity).as_str(), "127.0.0.1:3001");
    }

    #[test]
    fn upstreams_can_be_overridden() {
        let config =
            Config::try_parse_from(["edge", "--shop-upstream", "shop.internal:80"]).unwrap();
        assert_eq!(config.upstream(Zone::Shop).as_str(), "shop.internal:80");
        assert_eq!(
            config
                .route_table()
                .unwrap()
                .resolve("/shop")
                .upstream
                .as_str(),
            "shop.internal:80"
        );
    }

    #[test]
    fn bad_addresses_are_clear_errors() {
        let err = Config::try_parse_from(["edge", "--shop-upstream", "not a host"]).unwrap_err();
        assert!(err.to_string().contains("--shop-upstream"), "{err}");
    }
}
