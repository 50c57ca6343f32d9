//! The edge's route manifest: the compiled-in default (from the zone
//! manifest in `shared_auth::zone`) or a TOML file given with `--routes`.
//!
//! ```toml
//! # Longest prefix wins, on whole path segments; "/" is the default zone.
//! [[route]]
//! prefix = "/shop"
//! zone = "shop"
//! upstreams = ["10.0.0.5:3002", "10.0.0.6:3002"]   # round-robin, failover
//! max_body_bytes = 1048576                         # optional, default 10 MiB
//! ```

use std::path::Path;

use serde::Deserialize;
use shared_auth::Zone;

/// Request bodies above this are refused with 413 unless a route says otherwise.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// The whole manifest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "route", default)]
    pub routes: Vec<RouteSpec>,
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
    /// Every prefix of every zone, sent to `upstreams(zone)`.
    pub fn standard(upstreams: impl Fn(Zone) -> Vec<String>, max_body_bytes: u64) -> Self {
        let routes = Zone::ALL
            .into_iter()
            .flat_map(|zone| {
                let upstreams = upstreams(zone);
                zone.prefixes().iter().map(move |prefix| RouteSpec {
                    prefix: (*prefix).to_owned(),
                    zone: zone.name().to_owned(),
                    upstreams: upstreams.clone(),
                    max_body_bytes,
                })
            })
            .collect();
        Self { routes }
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
        assert_eq!(prefixes, ["/auth", "/mock-idp", "/shop", "/"]);
    }

    #[test]
    fn the_example_manifest_is_valid() {
        let manifest = Manifest::parse(include_str!("../routes.example.toml")).unwrap();
        let table =
            crate::routes::RouteTable::from_manifest(&manifest, std::time::Duration::from_secs(1))
                .unwrap();
        assert_eq!(table.resolve("/shop/cart").upstreams.len(), 2);
        assert_eq!(table.resolve("/auth/login").max_body_bytes, 65_536);
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
