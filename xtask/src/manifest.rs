//! `cargo xtask manifest`: the zone manifest (`contracts::zone`) as JSON,
//! for the Playwright tests in `end2end/`, which read their zones, prefixes,
//! identity's sign-in paths and the cookie names from it instead of keeping
//! a copy. `cargo xtask test` writes it right before Playwright runs (and
//! `dev` and `start` when they start), to `target/e2e/manifest.json`; the
//! edge's address of the run comes through `E2E_BASE_URL`.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use anyhow::Context as _;
use contracts::zone::{AuthPath, EDGE_HEALTH_PATH, MOCK_IDP_PREFIX};
use contracts::{Zone, cart, cookie};
use serde::Serialize;

use crate::project::Project;
use crate::stack::Ports;

/// The variable that tells the Playwright fixtures where the file is
/// (they fall back to [`path`]).
pub const PATH_VAR: &str = "E2E_MANIFEST";

/// What `end2end/manifest.ts` reads (its `Manifest` type mirrors this).
#[derive(Serialize)]
pub struct Manifest {
    /// Every zone of [`Zone::ALL`], by name.
    pub zones: BTreeMap<&'static str, ZoneEntry>,
    /// Identity's sign-in endpoints ([`AuthPath`]), by snake-case name.
    pub auth: BTreeMap<&'static str, &'static str>,
    /// Where the development-only mock provider is served.
    pub mock_idp_prefix: &'static str,
    /// The plain-http cookie names (the tests run on http).
    pub cookies: Cookies,
    /// The cart badge's cross-zone server function.
    pub cart_count_path: &'static str,
    /// The edge.
    pub edge: Edge,
}

/// One zone, as [`Zone`]'s accessors describe it.
#[derive(Serialize)]
pub struct ZoneEntry {
    pub name: &'static str,
    pub title: &'static str,
    pub prefixes: &'static [&'static str],
    pub home: &'static str,
    pub api_prefix: &'static str,
    /// Where its bundle is served from: `/` + [`Zone::pkg_dir`].
    pub pkg: String,
    pub me_path: &'static str,
    pub health_path: String,
    /// `127.0.0.1:<port>` under `cargo xtask dev` / `start`.
    pub default_addr: String,
}

#[derive(Serialize)]
pub struct Cookies {
    pub session: &'static str,
    pub login: &'static str,
}

#[derive(Serialize)]
pub struct Edge {
    /// Its URL under `cargo xtask dev` / `start`; a test run's own edge
    /// comes through `E2E_BASE_URL`.
    pub default_url: String,
    /// Its own liveness endpoint.
    pub health_path: &'static str,
}

/// The JSON name of an [`AuthPath`].
fn auth_name(path: AuthPath) -> &'static str {
    match path {
        AuthPath::Login => "login",
        AuthPath::Callback => "callback",
        AuthPath::Logout => "logout",
        AuthPath::SignedOut => "signed_out",
        AuthPath::Error => "error",
    }
}

impl Manifest {
    pub fn new() -> Self {
        Self {
            zones: Zone::ALL
                .into_iter()
                .map(|zone| {
                    let entry = ZoneEntry {
                        name: zone.name(),
                        title: zone.title(),
                        prefixes: zone.prefixes(),
                        home: zone.home(),
                        api_prefix: zone.api_prefix(),
                        pkg: format!("/{}", zone.pkg_dir()),
                        me_path: zone.me_path(),
                        health_path: zone.health_path(),
                        default_addr: zone.default_addr().to_string(),
                    };
                    (zone.name(), entry)
                })
                .collect(),
            auth: AuthPath::ALL
                .into_iter()
                .map(|path| (auth_name(path), path.path()))
                .collect(),
            mock_idp_prefix: MOCK_IDP_PREFIX,
            cookies: Cookies {
                session: cookie::session(false),
                login: cookie::login(false),
            },
            cart_count_path: cart::CART_COUNT_PATH,
            edge: Edge {
                default_url: Ports::standard(1).edge_url(),
                health_path: EDGE_HEALTH_PATH,
            },
        }
    }
}

/// Where the manifest is written: `target/e2e/manifest.json` in the
/// workspace (where `end2end/manifest.ts` looks without [`PATH_VAR`]).
pub fn path(project: &Project) -> PathBuf {
    project
        .root
        .join("target")
        .join("e2e")
        .join("manifest.json")
}

/// Writes the manifest to [`path`] and returns that path.
pub fn write(project: &Project) -> anyhow::Result<PathBuf> {
    let path = path(project);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(&Manifest::new())?;
    fs::write(&path, json + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `cargo xtask manifest`.
pub fn run(project: &Project) -> anyhow::Result<()> {
    let path = write(project)?;
    println!("{}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn json() -> Value {
        serde_json::to_value(Manifest::new()).unwrap()
    }

    #[test]
    fn every_zone_with_every_field() {
        let json = json();
        let zones = json["zones"].as_object().unwrap();
        assert_eq!(zones.len(), Zone::ALL.len(), "{zones:?}");
        for zone in Zone::ALL {
            let entry = &zones[zone.name()];
            let expected = serde_json::json!({
                "name": zone.name(),
                "title": zone.title(),
                "prefixes": zone.prefixes(),
                "home": zone.home(),
                "api_prefix": zone.api_prefix(),
                "pkg": format!("/{}", zone.pkg_dir()),
                "me_path": zone.me_path(),
                "health_path": zone.health_path(),
                "default_addr": zone.default_addr().to_string(),
            });
            assert_eq!(entry, &expected, "{zone}");
        }
        assert_eq!(zones["shop"]["pkg"], "/shop/pkg");
        assert_eq!(zones["identity"]["default_addr"], "127.0.0.1:3001");
    }

    #[test]
    fn identity_endpoints_cookies_mock_and_edge() {
        let json = json();
        let auth = json["auth"].as_object().unwrap();
        assert_eq!(auth.len(), AuthPath::ALL.len(), "{auth:?}");
        for path in AuthPath::ALL {
            assert_eq!(auth[auth_name(path)], path.path(), "{path:?}");
        }
        assert_eq!(auth["signed_out"], "/auth/signed-out");
        assert_eq!(json["mock_idp_prefix"], MOCK_IDP_PREFIX);
        assert_eq!(json["cookies"]["session"], cookie::SESSION);
        assert_eq!(json["cookies"]["login"], cookie::LOGIN);
        assert_eq!(json["cart_count_path"], cart::CART_COUNT_PATH);
        assert_eq!(json["edge"]["default_url"], "http://localhost:8080");
        assert_eq!(
            json["edge"]["default_url"],
            contracts::zone::DEFAULT_PUBLIC_ORIGIN
        );
        assert_eq!(json["edge"]["health_path"], EDGE_HEALTH_PATH);
        let mut top: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        top.sort_unstable();
        assert_eq!(
            top,
            [
                "auth",
                "cart_count_path",
                "cookies",
                "edge",
                "mock_idp_prefix",
                "zones"
            ]
        );
    }

    #[test]
    fn writes_the_file_the_fixtures_read() {
        let root = std::env::temp_dir().join(format!("xtask-manifest-{}", std::process::id()));
        let project = Project {
            root: root.clone(),
            target_dir: root.join("target"),
        };
        let written = write(&project).unwrap();
        assert_eq!(written, root.join("target/e2e/manifest.json"));
        let back: Value = serde_json::from_str(&fs::read_to_string(&written).unwrap()).unwrap();
        assert_eq!(back, json());
        fs::remove_dir_all(&root).unwrap();
    }
}
