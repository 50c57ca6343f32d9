//! The route table: path prefix → zone → its instances. Built from the
//! manifest (compiled-in default or `--routes FILE`), validated at start.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::uri::Authority;
use shared_auth::Zone;

use crate::manifest::{Manifest, RouteSpec};
use crate::upstream::UpstreamGroup;

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Route {
    /// A path prefix such as `/shop`; `/` is the default route.
    pub prefix: String,
    pub zone: Zone,
    /// Largest request body accepted on this route (413 beyond).
    pub max_body_bytes: u64,
    pub upstreams: Arc<UpstreamGroup>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    #[error(
        "route prefix `{0}` must start with `/`, must not end with `/` (except `/` itself) and must not contain `//`, `.` or `..` segments"
    )]
    BadPrefix(String),
    #[error("route prefix `{0}` is listed twice")]
    Duplicate(String),
    #[error("there is no default route (`/`): some paths would reach no zone")]
    NoDefault,
    #[error("route `{prefix}`: unknown zone `{zone}` (expected identity, shop or public)")]
    UnknownZone { prefix: String, zone: String },
    #[error("route `{prefix}`: `{address}` is not a host:port address")]
    BadUpstream { prefix: String, address: String },
    #[error("route `{0}` lists no upstreams")]
    NoUpstreams(String),
    #[error(
        "the {0} zone lists different upstreams on different routes; list the same instances on each"
    )]
    InconsistentUpstreams(Zone),
}

/// All routes, longest prefix first so the first match wins.
#[derive(Clone, Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Validates `manifest` and builds the table. Instances of one zone are
    /// shared by all its routes (one health state, one rotation).
    pub fn from_manifest(manifest: &Manifest, cool_down: Duration) -> Result<Self, RouteError> {
        let mut groups: BTreeMap<String, (Vec<Authority>, Arc<UpstreamGroup>)> = BTreeMap::new();
        let mut routes = Vec::new();
        for spec in &manifest.routes {
            check_prefix(&spec.prefix)?;
            let zone: Zone = spec.zone.parse().map_err(|_| RouteError::UnknownZone {
                prefix: spec.prefix.clone(),
                zone: spec.zone.clone(),
            })?;
            let authorities = authorities(spec)?;
            let group = match groups.get(zone.name()) {
                Some((known, group)) if *known == authorities => group.clone(),
                Some(_) => return Err(RouteError::InconsistentUpstreams(zone)),
                None => {
                    let group = Arc::new(UpstreamGroup::new(zone, authorities.clone(), cool_down));
                    groups.insert(zone.name().to_owned(), (authorities, group.clone()));
                    group
                }
            };
            routes.push(Route {
                prefix: spec.prefix.clone(),
                zone,
                max_body_bytes: spec.max_body_bytes,
                upstreams: group,
            });
        }
        routes.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then(a.prefix.cmp(&b.prefix))
        });
        if let Some(pair) = routes.windows(2).find(|w| w[0].prefix == w[1].prefix) {
            return Err(RouteError::Duplicate(pair[0].prefix.clone()));
        }
        if !routes.iter().any(|r| r.prefix == "/") {
            return Err(RouteError::NoDefault);
        }
        Ok(Self { routes })
    }

    /// The route for `path`: the longest prefix that matches whole segments
    /// (`/shop` matches `/shop` and `/shop/cart`, not `/shopping`).
    pub fn resolve(&self, path: &str) -> &Route {
        self.routes
            .iter()
            .find(|route| prefix_matches(&route.prefix, path))
            .unwrap_or_else(|| self.default_route())
    }

    /// All routes, longest prefix first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Each zone's instances, once per zone.
    pub fn groups(&self) -> Vec<Arc<UpstreamGroup>> {
        let mut groups: Vec<Arc<UpstreamGroup>> = Vec::new();
        for route in &self.routes {
            if !groups.iter().any(|g| g.zone == route.zone) {
                groups.push(route.upstreams.clone());
            }
        }
        groups
    }

    fn default_route(&self) -> &Route {
        // `from_manifest` guarantees a `/` route, and it sorts last.
        &self.routes[self.routes.len() - 1]
    }
}

fn check_prefix(prefix: &str) -> Result<(), RouteError> {
    let bad = || RouteError::BadPrefix(prefix.to_owned());
    if prefix == "/" {
        return Ok(());
    }
    if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains("//") {
        return Err(bad());
    }
    if prefix
        .split('/')
        .any(|segment| segment == "." || segment == "..")
        || prefix.contains('%')
    {
        return Err(bad());
    }
    Ok(())
}

fn authorities(spec: &RouteSpec) -> Result<Vec<Authority>, RouteError> {
    if spec.upstreams.is_empty() {
        return Err(RouteError::NoUpstreams(spec.prefix.clone()));
    }
    spec.upstreams
        .iter()
        .map(|address| {
            address
                .parse::<Authority>()
                .ok()
                .filter(|a| a.port_u16().is_some() && !a.as_str().contains('@'))
                .ok_or_else(|| RouteError::BadUpstream {
                    prefix: spec.prefix.clone(),
                    address: address.clone(),
                })
        })
        .collect()
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for route in &self.routes {
            let upstreams: Vec<String> = (0..route.upstreams.len())
                .map(|i| route.upstreams.get(i).authority.to_string())
                .collect();
            writeln!(
                f,
                "{:<12} → {:<9} {}",
                route.prefix,
                route.zone.name(),
                upstreams.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(prefix: &str, zone: &str, upstreams: &[&str]) -> RouteSpec {
        RouteSpec {
            prefix: prefix.into(),
            zone: zone.into(),
            upstreams: upstreams.iter().map(|s| (*s).to_owned()).collect(),
            max_body_bytes: 1024,
        }
    }

    fn table(specs: Vec<RouteSpec>) -> Result<RouteTable, RouteError> {
        RouteTable::from_manifest(&Manifest { routes: specs }, Duration::from_secs(1))
    }

    fn standard() -> RouteTable {
        RouteTable::from_manifest(
            &Manifest::standard(|z| vec![z.default_addr().to_string()], 1024),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    #[test]
    fn routes_by_whole_segments() {
        let table = standard();
        let zone = |path: &str| table.resolve(path).zone;
        assert_eq!(zone("/auth"), Zone::Identity);
        assert_eq!(zone("/auth/login"), Zone::Identity);
        assert_eq!(zone("/mock-idp/authorize"), Zone::Identity);
        assert_eq!(zone("/shop"), Zone::Shop);
        assert_eq!(zone("/shop/"), Zone::Shop);
        assert_eq!(zone("/shop/pkg/app.wasm"), Zone::Shop);
        assert_eq!(zone("/shopping"), Zone::Public);
        assert_eq!(zone("/authority"), Zone::Public);
        assert_eq!(zone("/"), Zone::Public);
        assert_eq!(zone("/account-area"), Zone::Public);
        assert_eq!(zone("/public/pkg/app.js"), Zone::Public);
        assert_eq!(zone(""), Zone::Public);
    }

    #[test]
    fn a_zones_routes_share_one_upstream_group() {
        let table = standard();
        let auth = table.resolve("/auth");
        let idp = table.resolve("/mock-idp");
        assert!(Arc::ptr_eq(&auth.upstreams, &idp.upstreams));
        assert_eq!(table.groups().len(), 3);
        assert_eq!(
            table
                .resolve("/shop/cart")
                .upstreams
                .get(0)
                .authority
                .as_str(),
            "127.0.0.1:3002"
        );
    }

    #[test]
    fn rejects_bad_manifests() {
        let up = &["127.0.0.1:1"];
        let def = || spec("/", "public", up);
        let err = |specs| table(specs).unwrap_err();
        assert_eq!(
            err(vec![spec("/shop/", "shop", up), def()]),
            RouteError::BadPrefix("/shop/".into())
        );
        assert_eq!(
            err(vec![spec("shop", "shop", up), def()]),
            RouteError::BadPrefix("shop".into())
        );
        assert_eq!(
            err(vec![spec("/a/../b", "shop", up), def()]),
            RouteError::BadPrefix("/a/../b".into())
        );
        assert_eq!(
            err(vec![spec("/a%2fb", "shop", up), def()]),
            RouteError::BadPrefix("/a%2fb".into())
        );
        assert_eq!(
            err(vec![
                spec("/shop", "shop", up),
                spec("/shop", "shop", up),
                def()
            ]),
            RouteError::Duplicate("/shop".into())
        );
        assert_eq!(err(vec![spec("/shop", "shop", up)]), RouteError::NoDefault);
        assert_eq!(
            err(vec![spec("/x", "billing", up), def()]),
            RouteError::UnknownZone {
                prefix: "/x".into(),
                zone: "billing".into()
            }
        );
        assert_eq!(
            err(vec![spec("/x", "shop", &["not an address"]), def()]),
            RouteError::BadUpstream {
                prefix: "/x".into(),
                address: "not an address".into()
            }
        );
        assert_eq!(
            err(vec![spec("/x", "shop", &["127.0.0.1"]), def()]),
            RouteError::BadUpstream {
                prefix: "/x".into(),
                address: "127.0.0.1".into()
            }
        );
        assert_eq!(
            err(vec![spec("/x", "shop", &[]), def()]),
            RouteError::NoUpstreams("/x".into())
        );
        assert_eq!(
            err(vec![
                spec("/a", "shop", up),
                spec("/b", "shop", &["127.0.0.1:2"]),
                def()
            ]),
            RouteError::InconsistentUpstreams(Zone::Shop)
        );
    }

    #[test]
    fn longest_prefix_wins() {
        let up = &["127.0.0.1:1"];
        let table = table(vec![
            spec("/", "public", up),
            spec("/shop", "shop", up),
            spec("/shop/admin", "identity", up),
        ])
        .unwrap();
        assert_eq!(table.resolve("/shop/admin/x").zone, Zone::Identity);
        assert_eq!(table.resolve("/shop/administrator").zone, Zone::Shop);
    }
}
