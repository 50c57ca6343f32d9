//! The zone manifest: the single place where path prefixes are written down.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The bundle name every zone shares (cargo-leptos' `output-name`): each
/// zone's assets differ by folder ([`Zone::pkg_dir`]), not by file name
/// (see TOOLCHAIN.md).
pub const OUTPUT_NAME: &str = "app";

/// Where the edge listens when nothing else is configured: the one origin
/// a developer opens.
pub const EDGE_DEFAULT_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// The site's public origin when nothing else is configured: the edge's
/// default address as a browser on this machine reaches it.
pub const DEFAULT_PUBLIC_ORIGIN: &str = "http://localhost:8080";

/// The edge's own liveness endpoint (no zone owns `/_edge`).
pub const EDGE_HEALTH_PATH: &str = "/_edge/health";

/// The edge's JSON status (zones, instances, up/down, last error).
pub const EDGE_STATUS_PATH: &str = "/_edge/status";

/// `POST` here (JSON, loopback or trusted proxies only) drops responses
/// from the edge cache by path prefix or `Cache-Tag`.
pub const EDGE_PURGE_PATH: &str = "/_edge/purge";

/// The edge's path for development live-reload sockets.
pub const DEV_RELOAD_PREFIX: &str = "/_edge/reload";

/// Development only: `PUT`/`DELETE`/`GET <prefix>/<zone>`, a zone's last
/// failed build as `cargo xtask dev` reports it to the edge (see
/// `edge::dev_builds`).
pub const DEV_BUILDS_PREFIX: &str = "/_edge/dev/builds";

/// Development only: where the mock OpenID provider (`zones/mock-idp`, not a
/// zone) is served. The edge routes it only when given the mock's address
/// (`--mock-idp-upstream`); production configurations never route it.
pub const MOCK_IDP_PREFIX: &str = "/mock-idp";

/// Development only: the mock provider's port when nothing else is configured.
pub const MOCK_IDP_DEFAULT_PORT: u16 = 3009;

/// Where identity publishes the public keys of its session tokens (a JWKS,
/// RFC 7517); every zone verifies tokens against it.
pub const SESSION_JWKS_PATH: &str = "/auth/.well-known/jwks.json";

/// Identity's routes for the other zones' servers only, never for
/// browsers: the edge answers 404 for anything under this prefix, and
/// identity answers 404 to a request that came through the edge.
pub const IDENTITY_INTERNAL_PREFIX: &str = "/auth/internal/";

/// Where a zone in token mode asks identity for a fresh session token
/// (`POST`, with the browser's session cookie): see [`crate::session_token`].
pub const SESSION_TOKEN_REFRESH_PATH: &str = "/auth/internal/session-token";

/// Where a zone without a database follows the revocation log in token
/// mode (`GET ?after=<mark>`).
pub const REVOCATIONS_PATH: &str = "/auth/internal/revocations";

/// Identity's sign-in endpoints, named once: the routes identity serves,
/// the redirect URIs an OpenID provider registers, the paths the edge
/// rate-limits, and the links and forms every zone renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthPath {
    /// `GET`: starts a sign-in (`?return_to=<page>`).
    Login,
    /// `GET`: where the provider sends the browser back with a code.
    Callback,
    /// `GET` asks, `POST` signs out.
    Logout,
    /// Where the provider sends the browser after its own sign-out.
    SignedOut,
    /// Where every failed sign-in lands (`?reason=<code>`).
    Error,
}

impl AuthPath {
    pub const ALL: [AuthPath; 5] = [
        AuthPath::Login,
        AuthPath::Callback,
        AuthPath::Logout,
        AuthPath::SignedOut,
        AuthPath::Error,
    ];

    /// The path (under [`Zone::Identity`]'s prefix; checked by a test).
    pub const fn path(self) -> &'static str {
        match self {
            AuthPath::Login => "/auth/login",
            AuthPath::Callback => "/auth/callback",
            AuthPath::Logout => "/auth/logout",
            AuthPath::SignedOut => "/auth/signed-out",
            AuthPath::Error => "/auth/error",
        }
    }
}

/// One independently built and deployed Leptos app behind the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    /// Sign-in, sign-out and account pages.
    Identity,
    /// Catalogue, cart and orders.
    Shop,
    /// Everything no other zone claims: home, account area, 404s.
    Public,
}

impl Zone {
    /// Every zone, in the order they are started and listed.
    pub const ALL: [Zone; 3] = [Zone::Identity, Zone::Shop, Zone::Public];

    /// The zone's name as used in URLs, logs, JSON and cargo-leptos project names.
    pub const fn name(self) -> &'static str {
        match self {
            Zone::Identity => "identity",
            Zone::Shop => "shop",
            Zone::Public => "public",
        }
    }

    /// A human title for pages and error messages.
    pub const fn title(self) -> &'static str {
        match self {
            Zone::Identity => "Identity",
            Zone::Shop => "Shop",
            Zone::Public => "Public",
        }
    }

    /// The Cargo package that builds this zone.
    pub const fn package(self) -> &'static str {
        match self {
            Zone::Identity => "zone-identity",
            Zone::Shop => "zone-shop",
            Zone::Public => "zone-public",
        }
    }

    /// The path prefixes this zone owns at the edge. `/` means "everything
    /// no other zone owns" (the default zone).
    pub const fn prefixes(self) -> &'static [&'static str] {
        match self {
            Zone::Identity => &["/auth"],
            Zone::Shop => &["/shop"],
            Zone::Public => &["/"],
        }
    }

    /// The zone's home page: where a link "to this zone" points.
    pub const fn home(self) -> &'static str {
        match self {
            Zone::Identity => "/auth",
            Zone::Shop => "/shop",
            Zone::Public => "/",
        }
    }

    /// The edge's flag naming this zone's instances (`--shop-upstream`).
    pub fn upstream_flag(self) -> String {
        format!("{}-upstream", self.name())
    }

    /// The edge's environment variable naming this zone's instances
    /// (`EDGE_SHOP_UPSTREAM`), set by whatever starts the edge.
    pub fn upstream_env(self) -> String {
        format!("EDGE_{}_UPSTREAM", self.name().to_uppercase())
    }

    /// Prefix of the zone's server functions and JSON APIs.
    pub const fn api_prefix(self) -> &'static str {
        match self {
            Zone::Identity => "/auth/api",
            Zone::Shop => "/shop/api",
            Zone::Public => "/api",
        }
    }

    /// Where the zone's compiled JS/WASM/CSS are served from, without the
    /// leading slash (cargo-leptos' `site-pkg-dir`). Each lies under a prefix
    /// the zone owns, so the edge routes asset requests by path alone.
    pub const fn pkg_dir(self) -> &'static str {
        match self {
            Zone::Identity => "auth/pkg",
            Zone::Shop => "shop/pkg",
            Zone::Public => "public/pkg",
        }
    }

    /// The zone's `/…/me` endpoint (the shared JSON contract).
    pub const fn me_path(self) -> &'static str {
        match self {
            Zone::Identity => "/auth/me",
            Zone::Shop => "/shop/api/me",
            Zone::Public => "/api/me",
        }
    }

    /// The zone's health endpoint (answers `200 ok` when the process serves).
    pub fn health_path(self) -> String {
        format!("{}/health", self.api_prefix())
    }

    /// Development only: where the browser reaches this zone's cargo-leptos
    /// live-reload socket through the edge.
    pub fn dev_reload_path(self) -> String {
        format!("{DEV_RELOAD_PREFIX}/{}", self.name())
    }

    /// The address the zone listens on when nothing else is configured.
    pub const fn default_addr(self) -> SocketAddr {
        let port = match self {
            Zone::Identity => 3001,
            Zone::Shop => 3002,
            Zone::Public => 3003,
        };
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }

    /// The cargo-leptos live-reload port used under `cargo xtask dev`.
    pub const fn default_reload_port(self) -> u16 {
        match self {
            Zone::Identity => 3101,
            Zone::Shop => 3102,
            Zone::Public => 3103,
        }
    }

    /// A path inside this zone: `Zone::Shop.path("/orders")` is `/shop/orders`.
    /// `rest` must start with `/` or be empty.
    pub fn path(self, rest: &str) -> String {
        debug_assert!(rest.is_empty() || rest.starts_with('/'));
        match self.home() {
            "/" if rest.is_empty() => "/".to_owned(),
            "/" => rest.to_owned(),
            home => format!("{home}{rest}"),
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A zone name that is not one of [`Zone::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone(pub String);

impl fmt::Display for UnknownZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown zone `{}` (expected identity, shop or public)",
            self.0
        )
    }
}

impl std::error::Error for UnknownZone {}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Zone::ALL
            .into_iter()
            .find(|zone| zone.name() == s)
            .ok_or_else(|| UnknownZone(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_origin_is_the_default_edge_address() {
        assert_eq!(
            DEFAULT_PUBLIC_ORIGIN,
            format!("http://localhost:{}", EDGE_DEFAULT_ADDR.port())
        );
        for path in [
            EDGE_HEALTH_PATH,
            EDGE_STATUS_PATH,
            EDGE_PURGE_PATH,
            DEV_RELOAD_PREFIX,
        ] {
            assert!(path.starts_with("/_edge/"), "{path}");
        }
    }

    #[test]
    fn every_zone_owns_its_api_and_asset_paths() {
        for zone in Zone::ALL {
            let owns = |path: &str| {
                zone.prefixes()
                    .iter()
                    .any(|p| *p == "/" || path == *p || path.starts_with(&format!("{p}/")))
            };
            assert!(owns(zone.api_prefix()), "{zone} api prefix");
            assert!(owns(&format!("/{}", zone.pkg_dir())), "{zone} pkg dir");
            assert!(owns(zone.home()), "{zone} home");
        }
    }

    #[test]
    fn identity_endpoints_lie_under_its_prefix() {
        assert!(IDENTITY_INTERNAL_PREFIX.starts_with(Zone::Identity.home()));
        assert!(SESSION_TOKEN_REFRESH_PATH.starts_with(IDENTITY_INTERNAL_PREFIX));
        assert!(REVOCATIONS_PATH.starts_with(IDENTITY_INTERNAL_PREFIX));
        let jwks = SESSION_JWKS_PATH.strip_prefix(Zone::Identity.home());
        assert_eq!(
            jwks.map(|rest| Zone::Identity.path(rest)).as_deref(),
            Some(SESSION_JWKS_PATH)
        );
        for endpoint in AuthPath::ALL {
            let path = endpoint.path();
            let rest = path.strip_prefix(Zone::Identity.home()).unwrap_or_default();
            assert_eq!(Zone::Identity.path(rest), path, "{endpoint:?}");
            assert!(
                rest.starts_with('/') && !rest[1..].contains('/'),
                "{endpoint:?}"
            );
        }
    }

    #[test]
    fn non_default_asset_dirs_do_not_collide() {
        let dirs: Vec<_> = Zone::ALL.iter().map(|z| z.pkg_dir()).collect();
        for (i, a) in dirs.iter().enumerate() {
            for b in &dirs[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn paths_are_joined_under_the_mount_point() {
        assert_eq!(Zone::Shop.path("/orders"), "/shop/orders");
        assert_eq!(Zone::Shop.path(""), "/shop");
        assert_eq!(Zone::Public.path(""), "/");
        assert_eq!(Zone::Public.path("/account-area"), "/account-area");
        assert_eq!(Zone::Identity.health_path(), "/auth/api/health");
        assert_eq!(Zone::Public.health_path(), "/api/health");
    }

    #[test]
    fn names_round_trip() {
        for zone in Zone::ALL {
            assert_eq!(zone.name().parse::<Zone>(), Ok(zone));
        }
        assert_eq!(
            "billing".parse::<Zone>().unwrap_err().to_string(),
            "unknown zone `billing` (expected identity, shop or public)"
        );
    }

    #[test]
    fn default_ports_are_distinct() {
        let mut ports: Vec<u16> = Zone::ALL
            .iter()
            .flat_map(|z| [z.default_addr().port(), z.default_reload_port()])
            .collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 6);
    }
}
