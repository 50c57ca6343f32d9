//! Settings of the edge binary, read once in `main`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::manifest::{DEFAULT_MAX_BODY_BYTES, Manifest, ManifestError};
use crate::trusted::{ProxyNet, TrustedProxies};
use crate::zone_upstreams::ZoneUpstreams;

/// The longest response or idle timeout accepted (a day): a larger one
/// is refused at start rather than overflowing a deadline later.
const MAX_TIMEOUT_SECS: u64 = 86_400;

/// The edge reverse proxy: one origin in front of the identity, shop and
/// public zones, routing by path prefix.
///
/// Environment variables (each also a flag): `EDGE_LISTEN`, `EDGE_ROUTES`,
/// `EDGE_<ZONE>_UPSTREAM` (one per zone: `EDGE_SHOP_UPSTREAM`…),
/// `EDGE_MOCK_IDP_UPSTREAM`, `EDGE_MAX_BODY_BYTES`, `EDGE_MAX_HEADER_BYTES`,
/// `EDGE_MAX_CONNECTIONS`, `EDGE_MAX_CONNECTIONS_PER_CLIENT`,
/// `EDGE_CONNECT_TIMEOUT_MS`, `EDGE_RESPONSE_TIMEOUT_SECS`,
/// `EDGE_IDLE_TIMEOUT_SECS`, `EDGE_COOL_DOWN_MS`, `EDGE_HEALTH_INTERVAL_MS`,
/// `EDGE_TRUSTED_PROXIES`, `EDGE_PUBLIC_PROTO`, `EDGE_RATE_LIMITS`,
/// `EDGE_SHUTDOWN_GRACE_SECS`, `EDGE_THREADS`, `EDGE_CACHE_BYTES`,
/// `EDGE_DEV_RELOAD`, `EDGE_DEV_WAITING_PAGE`, `RUST_LOG`.
///
/// The cache: anonymous `GET`/`HEAD` responses that a zone marks public in
/// `CDN-Cache-Control` (read first) or `Cache-Control` (`public,
/// max-age=N` or `s-maxage=N`) are kept in memory (`--cache-bytes`, least
/// recently used first) and served with `Age` and `X-Cache: HIT`;
/// `stale-while-revalidate` serves a stale copy (`X-Cache: STALE`) while
/// one request refreshes it, and `stale-if-error` serves one while the zone
/// is down or answers 5xx; anything else says `X-Cache: MISS`. Requests
/// with a session cookie are never looked up; responses that set a cookie,
/// say `private`/`no-store` or `Vary: Cookie` are never kept.
/// `POST /_edge/purge` (JSON `{"prefix": "/shop"}` or `{"tag": "…"}`,
/// loopback naming this machine, or trusted proxies) drops entries;
/// `/_edge/status` counts them.
#[derive(Debug, Clone, Parser)]
#[command(name = "edge", version)]
pub struct Config {
    /// Address the edge listens on (HTTP/1.1 and h2c).
    #[arg(long, env = "EDGE_LISTEN", default_value_t = contracts::zone::EDGE_DEFAULT_ADDR)]
    pub listen: SocketAddr,
    /// A TOML route manifest to use instead of the compiled-in one (the
    /// `--*-upstream` flags are then ignored).
    #[arg(long, env = "EDGE_ROUTES")]
    pub routes: Option<PathBuf>,
    /// `--<zone>-upstream` for every zone of the manifest.
    #[command(flatten)]
    pub upstreams: ZoneUpstreams,
    /// Development only: the mock OpenID provider (`mock-idp`) as host:port,
    /// routed at `/mock-idp`. Unset (production), `/mock-idp` is not routed
    /// to it. Also added to a `--routes` manifest.
    #[arg(long, env = "EDGE_MOCK_IDP_UPSTREAM")]
    pub mock_idp_upstream: Option<String>,
    /// Largest request body on the compiled-in routes (413 beyond).
    #[arg(long, env = "EDGE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: u64,
    /// Largest request head (request line + headers) accepted (431 beyond).
    #[arg(long, env = "EDGE_MAX_HEADER_BYTES", default_value_t = 16 * 1024, value_parser = clap::value_parser!(u64).range(8192..))]
    pub max_header_bytes: u64,
    /// Open client connections at most; past it new connections wait until
    /// one closes.
    #[arg(long, env = "EDGE_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Open connections from one client address at most (IPv6: per /64),
    /// so one client cannot hold every slot; past it that client's new
    /// connections are closed at once. Trusted proxies are exempt.
    #[arg(long, env = "EDGE_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_client: u32,
    /// How long to wait for a zone to accept a connection before trying
    /// another instance or answering 502.
    #[arg(long, env = "EDGE_CONNECT_TIMEOUT_MS", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub connect_timeout_ms: u64,
    /// How long to wait for a zone's response headers before answering 504.
    #[arg(long, env = "EDGE_RESPONSE_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub response_timeout_secs: u64,
    /// A response body, or an upgraded (WebSocket) connection, that sends
    /// nothing for this long is cut off; so is a client that takes none of
    /// a response for this long.
    #[arg(long, env = "EDGE_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub idle_timeout_secs: u64,
    /// How long an instance that refused a connection stays out of rotation.
    #[arg(long, env = "EDGE_COOL_DOWN_MS", default_value_t = 5_000)]
    pub cool_down_ms: u64,
    /// How often each instance's health endpoint is probed (0 turns probes off).
    #[arg(long, env = "EDGE_HEALTH_INTERVAL_MS", default_value_t = 2_000)]
    pub health_interval_ms: u64,
    /// Peers whose X-Forwarded-For is believed and extended rather than
    /// replaced: the load balancers or ingress pods in front of the edge,
    /// comma-separated addresses or CIDR ranges (`10.0.0.0/8,::1`).
    #[arg(long, env = "EDGE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ProxyNet>,
    /// Scheme clients use to reach the edge (`https` when TLS ends in front of it).
    #[arg(long, env = "EDGE_PUBLIC_PROTO", default_value = "http", value_parser = ["http", "https"])]
    pub public_proto: String,
    /// Apply the route manifest's per-client-IP rate limits (`[[limit]]`;
    /// the compiled-in ones cover sign-in, its callback, sign-out,
    /// add-to-cart and the mock's authorize). `false` only for load tests
    /// from one address.
    #[arg(long, env = "EDGE_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub rate_limits: bool,
    /// On SIGTERM/Ctrl-C, how long in-flight requests may take to finish.
    #[arg(long, env = "EDGE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Threads serving clients, each with its own listening socket
    /// (`SO_REUSEPORT`) and its own upstream connections; 0: one per core.
    #[arg(long, env = "EDGE_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Bytes of memory for the cache of anonymous public pages (least
    /// recently used go first); 0 turns the cache off.
    #[arg(long, env = "EDGE_CACHE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub cache_bytes: usize,
    /// Development: each zone's cargo-leptos reload server as zone=host:port
    /// (comma-separated), served at `/_edge/reload/<zone>`. `cargo xtask dev`
    /// sets it; leave it unset in production.
    #[arg(long, env = "EDGE_DEV_RELOAD", value_delimiter = ',')]
    pub dev_reload: Vec<crate::options::ReloadTarget>,
    /// Development: a zone that does not answer (building, restarting)
    /// gets a page that waits for it and reloads itself (503, `Retry-After`)
    /// instead of the 502 page. `cargo xtask dev` sets it; leave it off in
    /// production.
    #[arg(long, env = "EDGE_DEV_WAITING_PAGE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub dev_waiting_page: bool,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The manifest: `--routes` if given, else the compiled-in one; with
    /// the mock provider's route when `--mock-idp-upstream` is given.
    pub fn manifest(&self) -> Result<Manifest, ManifestError> {
        let mut manifest = match &self.routes {
            Some(path) => Manifest::load(path)?,
            None => Manifest::standard(|zone| self.upstreams.of(zone), self.max_body_bytes),
        };
        manifest.mock_idp_upstream = self
            .mock_idp_upstream
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(manifest)
    }

    /// `--trusted-proxies` as one list.
    pub fn trusted(&self) -> TrustedProxies {
        self.trusted_proxies.iter().copied().collect()
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn response_timeout(&self) -> Duration {
        Duration::from_secs(self.response_timeout_secs)
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    pub fn cool_down(&self) -> Duration {
        Duration::from_millis(self.cool_down_ms)
    }

    pub fn health_interval(&self) -> Option<Duration> {
        (self.health_interval_ms > 0).then(|| Duration::from_millis(self.health_interval_ms))
    }

    /// Serving threads: `--threads`, or one per core.
    pub fn threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::RouteTable;
    use contracts::Zone;

    fn table(config: &Config) -> RouteTable {
        RouteTable::from_manifest(&config.manifest().unwrap(), config.cool_down()).unwrap()
    }

    #[test]
    fn timeouts_out_of_range_are_refused_at_start() {
        for args in [
            ["edge", "--response-timeout-secs", "18446744073709551615"],
            ["edge", "--idle-timeout-secs", "0"],
            ["edge", "--idle-timeout-secs", "86401"],
            ["edge", "--connect-timeout-ms", "0"],
        ] {
            let err = Config::try_parse_from(args).unwrap_err();
            assert!(err.to_string().contains("not in"), "{args:?}: {err}");
        }
        assert!(Config::try_parse_from(["edge", "--response-timeout-secs", "86400"]).is_ok());
    }

    #[test]
    fn defaults_point_at_the_zone_ports() {
        let config = Config::try_parse_from(["edge"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.rate_limits);
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(config.max_connections_per_client, 256);
        assert!(config.trusted().is_empty());
        assert_eq!(
            table(&config).resolve("/mock-idp/authorize").target,
            crate::target::Target::Zone(Zone::Public),
            "no mock provider unless asked"
        );
        assert_eq!(config.upstreams.of(Zone::Shop), ["127.0.0.1:3002"]);
        assert_eq!(
            table(&config)
                .resolve("/auth")
                .upstreams
                .get(0)
                .authority
                .as_str(),
            "127.0.0.1:3001"
        );
    }

    #[test]
    fn several_instances_per_zone() {
        let config = Config::try_parse_from([
            "edge",
            "--shop-upstream",
            "127.0.0.1:3002,127.0.0.1:3012",
            "--trusted-proxies",
            "10.0.0.1,::1, 10.244.0.0/16",
        ])
        .unwrap();
        assert_eq!(table(&config).resolve("/shop").upstreams.len(), 2);
        assert_eq!(config.trusted_proxies.len(), 3);
        let trusted = config.trusted();
        for inside in ["10.0.0.1", "::1", "10.244.9.9"] {
            assert!(trusted.contains(inside.parse().unwrap()), "{inside}");
        }
        assert!(!trusted.contains("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn every_zone_of_the_manifest_has_its_upstream_flag_and_variable() {
        use clap::CommandFactory as _;
        let command = Config::command();
        for zone in Zone::ALL {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(zone.upstream_flag().as_str()))
                .unwrap_or_else(|| panic!("no --{}", zone.upstream_flag()));
            assert_eq!(
                arg.get_env().and_then(|env| env.to_str()),
                Some(zone.upstream_env().as_str())
            );
            let config = Config::try_parse_from([
                "edge".to_owned(),
                format!("--{}", zone.upstream_flag()),
                "10.0.0.7:80, 10.0.0.8:80".to_owned(),
            ])
            .unwrap();
            assert_eq!(config.upstreams.of(zone), ["10.0.0.7:80", "10.0.0.8:80"]);
            for other in Zone::ALL.into_iter().filter(|other| *other != zone) {
                assert_eq!(
                    config.upstreams.of(other),
                    [other.default_addr().to_string()]
                );
            }
        }
    }

    #[test]
    fn an_empty_upstream_is_refused_not_replaced_by_the_default() {
        for value in [
            "",
            " ",
            "127.0.0.1:3002,",
            "127.0.0.1:3002, ,127.0.0.1:3012",
        ] {
            let config = Config::try_parse_from(["edge", "--shop-upstream", value]).unwrap();
            assert!(
                RouteTable::from_manifest(&config.manifest().unwrap(), config.cool_down()).is_err(),
                "{value:?} was accepted"
            );
        }
    }

    #[test]
    fn the_mock_provider_and_rate_limits_are_switches() {
        let config = Config::try_parse_from([
            "edge",
            "--mock-idp-upstream",
            "127.0.0.1:3009",
            "--rate-limits",
            "false",
        ])
        .unwrap();
        assert!(!config.rate_limits);
        let routes = table(&config);
        let route = routes.resolve("/mock-idp/token");
        assert_eq!(route.target, crate::target::Target::MockIdp);
        assert_eq!(route.upstreams.get(0).authority.as_str(), "127.0.0.1:3009");
        // Also beside a manifest file.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("routes.toml");
        std::fs::write(&file, include_str!("../routes.example.toml")).unwrap();
        let config = Config::try_parse_from([
            "edge",
            "--routes",
            file.to_str().unwrap(),
            "--mock-idp-upstream",
            "127.0.0.1:3009",
        ])
        .unwrap();
        assert_eq!(
            table(&config).resolve("/mock-idp").target,
            crate::target::Target::MockIdp
        );
        assert!(Config::try_parse_from(["edge", "--rate-limits", "maybe"]).is_err());
        assert!(Config::try_parse_from(["edge", "--max-connections", "0"]).is_err());
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        assert!(Config::try_parse_from(["edge", "--public-proto", "ftp"]).is_err());
        assert!(Config::try_parse_from(["edge", "--max-header-bytes", "10"]).is_err());
        for proxies in ["10.0.0.1/8", "0.0.0.0/0", "ingress", "10.0.0.0/8,"] {
            assert!(
                Config::try_parse_from(["edge", "--trusted-proxies", proxies]).is_err(),
                "{proxies}"
            );
        }
        assert!(Config::try_parse_from(["edge", "--max-connections-per-client", "0"]).is_err());
        let config = Config::try_parse_from(["edge", "--shop-upstream", "not an address"]).unwrap();
        let err = RouteTable::from_manifest(&config.manifest().unwrap(), config.cool_down())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an address"), "{err}");
    }
}
