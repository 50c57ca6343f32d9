//! The edge's options: how it talks to the zones and to clients, and the
//! development-only targets (live reload) that `Config` fills in.

use std::str::FromStr;
use std::time::Duration;

use contracts::Zone;
use http::uri::Authority;

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
    /// Bytes the cache of anonymous pages may hold (`0`: no cache).
    pub cache_bytes: usize,
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
            cache_bytes: 0,
        }
    }
}

/// `zone=host:port`: where a zone's cargo-leptos reload server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadTarget {
    pub zone: Zone,
    pub authority: Authority,
}

impl FromStr for ReloadTarget {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (zone, address) = value
            .split_once('=')
            .ok_or_else(|| format!("expected zone=host:port, got `{value}`"))?;
        let zone = zone.trim().parse::<Zone>().map_err(|e| e.to_string())?;
        let authority = address
            .trim()
            .parse::<Authority>()
            .ok()
            .filter(|a| a.port_u16().is_some())
            .ok_or_else(|| format!("`{address}` is not a host:port address"))?;
        Ok(Self { zone, authority })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t: ReloadTarget = "shop=127.0.0.1:3102".parse().unwrap();
        assert_eq!(
            (t.zone, t.authority.as_str()),
            (Zone::Shop, "127.0.0.1:3102")
        );
        assert!("shop".parse::<ReloadTarget>().is_err());
        assert!("billing=127.0.0.1:1".parse::<ReloadTarget>().is_err());
        assert!("shop=127.0.0.1".parse::<ReloadTarget>().is_err());
    }
}
