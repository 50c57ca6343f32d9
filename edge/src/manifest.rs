//! The edge's route manifest: the compiled-in default (from the zone
//! manifest in `contracts::zone`) or a TOML file given with `--routes`.
//!
//! ```toml
//! # Longest prefix wins, on whole path segments; "/" is the default zone.
//! [[route]]
//! prefix = "/shop"
//! zone = "shop"
//! upstreams = ["10.0.0.5:3002", "10.0.0.6:3002"]   # round-robin, failover
//! max_body_bytes = 1048576                         # optional, default 10 MiB
//! websocket = false                                # optional: allow `Upgrade: websocket`
//!
//! # A token bucket per client IP (IPv6: per /64). `path` matches like a
//! # route prefix (whole segments); `methods` empty or absent = every method,
//! # and "GET" also covers HEAD. Over the limit: 429 with Retry-After.
//! [[limit]]
//! path = "/auth/login"
//! methods = ["GET"]
//! burst = 20          # requests allowed at once
//! per_second = 5      # refill rate (may be fractional: 0.5)
//! ```
//!
//! The mock OpenID provider is never routed from a file: only
//! `--mock-idp-upstream` adds its route (development only).

use std::path::Path;

use contracts::Zone;
use contracts::zone::{AuthPath, MOCK_IDP_PREFIX};
use serde::Deserialize;

/// Request bodies above this are refused with 413 unless a route says otherwise.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// Burst of the compiled-in rate limits (requests per client IP at once).
pub const DEFAULT_LIMIT_BURST: u32 = 20;
/// Refill rate of the compiled-in rate limits (requests per second per client IP).
pub const DEFAULT_LIMIT_PER_SECOND: f64 = 5.0;

/// The whole manifest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "route", default)]
    pub routes: Vec<RouteSpec>,
    #[serde(rename = "limit", default)]
    pub limits: Vec<LimitSpec>,
    /// Development only: the mock provider's `host:port`, routed at
    /// [`MOCK_IDP_PREFIX`]. Set from `--mock-idp-upstream`, never from a file.
    #[serde(skip)]
    pub mock_idp_upstream: Option<String>,
}

/// One `[[route]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub prefix: String,
    pub zone: String,
    pub upstreams: Vec<String>,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Whether `Upgrade: websocket` is switched on this route (off by default:
    /// an upgrade request is then proxied as a plain request).
    #[serde(default)]
    pub websocket: bool,
}

impl RouteSpec {
    /// A route with the default body limit and no WebSockets.
    pub fn new(prefix: &str, zone: &str, upstreams: Vec<String>) -> Self {
        Self {
            prefix: prefix.to_owned(),
            zone: zone.to_owned(),
            upstreams,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            websocket: false,
        }
    }
}

/// One `[[limit]]`: a token bucket per client IP for matching requests.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    pub path: String,
    #[serde(default)]
    pub methods: Vec<String>,
    pub burst: u32,
    pub per_second: f64,
}

impl LimitSpec {
    fn standard(path: String, method: &str) -> Self {
        Self {
            path,
            methods: vec![method.to_owned()],
            burst: DEFAULT_LIMIT_BURST,
            per_second: DEFAULT_LIMIT_PER_SECOND,
        }
    }
}

/// The compiled-in limits: the anonymous requests that write to the store
/// (a pending sign-in, the callback and sign-out that delete one for any
/// input, forged or not, an anonymous cart line, a mock authorization code).
pub fn standard_limits() -> Vec<LimitSpec> {
    vec![
        LimitSpec::standard(AuthPath::Login.path().to_owned(), "GET"),
        LimitSpec::standard(AuthPath::Callback.path().to_owned(), "GET"),
        LimitSpec::standard(AuthPath::Logout.path().to_owned(), "POST"),
        LimitSpec::standard(format!("{}/cart/add", Zone::Shop.api_prefix()), "POST"),
        LimitSpec::standard(format!("{MOCK_IDP_PREFIX}/authorize"), "POST"),
    ]
}

fn default_max_body() -> u64 {
    DEFAULT_MAX_BODY_BYTES
}

/// Why a manifest file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid route manifest: {message}")]
    Parse { path: String, message: String },
}

impl Manifest {
    /// Every prefix of every zone, sent to `upstreams(zone)`, and the
    /// compiled-in limits. No WebSocket routes, no mock provider.
    pub fn standard(upstreams: impl Fn(Zone) -> Vec<String>, max_body_bytes: u64) -> Self {
        let routes = Zone::ALL
            .into_iter()
            .flat_map(|zone| {
                let upstreams = upstreams(zone);
                zone.prefixes().iter().map(move |prefix| RouteSpec {
                    max_body_bytes,
                    ..RouteSpec::new(prefix, zone.name(), upstreams.clone())
                })
            })
            .collect();
        Self {
            routes,
            limits: standard_limits(),
            mock_idp_upstream: None,
        }
    }

    /// Reads a TOML manifest.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ManifestError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let manifest = Manifest::parse(
            r#"
            [[route]]
            prefix = "/shop"
            zone = "shop"
            upstreams = ["10.0.0.5:3002", "10.0.0.6:3002"]
            max_body_bytes = 1048576

            [[route]]
            prefix = "/"
            zone = "public"
            upstreams = ["10.0.0.7:3003"]
            "#,
        )
        .unwrap();
        assert_eq!(manifest.routes.len(), 2);
        assert_eq!(manifest.routes[0].upstreams.len(), 2);
        assert_eq!(manifest.routes[0].max_body_bytes, 1_048_576);
        assert_eq!(manifest.routes[1].max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn typos_are_errors_not_silence() {
        let err =
            Manifest::parse("[[route]]\nprefix = \"/\"\nzone = \"public\"\nupstream = [\"a:1\"]\n")
                .unwrap_err();
        assert!(err.contains("upstream"), "{err}");
    }

    #[test]
    fn the_standard_manifest_covers_every_zone_prefix() {
        let manifest = Manifest::standard(|z| vec![z.default_addr().to_string()], 5);
        let prefixes: Vec<&str> = manifest.routes.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(prefixes, ["/auth", "/shop", "/"]);
        assert!(manifest.routes.iter().all(|r| !r.websocket));
        assert_eq!(manifest.mock_idp_upstream, None);
        let limited: Vec<(&str, &str)> = manifest
            .limits
            .iter()
            .map(|l| (l.methods[0].as_str(), l.path.as_str()))
            .collect();
        assert_eq!(
            limited,
            [
                ("GET", "/auth/login"),
                ("GET", "/auth/callback"),
                ("POST", "/auth/logout"),
                ("POST", "/shop/api/cart/add"),
                ("POST", "/mock-idp/authorize")
            ]
        );
        assert!(
            manifest
                .limits
                .iter()
                .all(|l| l.burst == 20 && l.per_second == 5.0)
        );
    }

    #[test]
    fn limits_and_websocket_routes_parse() {
        let manifest = Manifest::parse(
            r#"
            [[route]]
            prefix = "/shop/live"
            zone = "shop"
            upstreams = ["10.0.0.5:3002"]
            websocket = true

            [[limit]]
            path = "/auth/login"
            methods = ["GET"]
            burst = 3
            per_second = 0.5

            [[limit]]
            path = "/shop/api"
            burst = 100
            per_second = 50
            "#,
        )
        .unwrap();
        assert!(manifest.routes[0].websocket);
        assert_eq!(manifest.limits[0].per_second, 0.5);
        assert_eq!(manifest.limits[1].per_second, 50.0);
        assert!(manifest.limits[1].methods.is_empty());
    }

    #[test]
    fn a_file_cannot_route_the_mock_provider() {
        let err = Manifest::parse("mock_idp_upstream = \"127.0.0.1:3009\"\n").unwrap_err();
        assert!(err.contains("mock_idp_upstream"), "{err}");
    }

    #[test]
    fn the_example_manifest_is_valid() {
        let manifest = Manifest::parse(include_str!("../routes.example.toml")).unwrap();
        let table =
            crate::routes::RouteTable::from_manifest(&manifest, std::time::Duration::from_secs(1))
                .unwrap();
        assert_eq!(table.resolve("/shop/cart").upstreams.len(), 2);
        assert_eq!(table.resolve("/auth/login").max_body_bytes, 65_536);
        assert!(table.resolve("/shop/live/feed").websocket);
        assert!(!table.resolve("/shop/cart").websocket);
        assert_eq!(manifest.limits, standard_limits(), "the compiled-in limits");
    }

    #[test]
    fn missing_files_are_clear_errors() {
        let err = Manifest::load(Path::new("/nonexistent/routes.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read /nonexistent/routes.toml"),
            "{err}"
        );
    }
}
