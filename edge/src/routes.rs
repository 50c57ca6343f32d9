//! The route table: path prefix → zone (or the dev-only mock provider) →
//! its instances, and the rate limits. Built from the manifest
//! (compiled-in default or `--routes FILE`), validated at start.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;
use http::uri::Authority;

use crate::manifest::{Manifest, RouteSpec};
use crate::prefix;
use crate::rate_limit::{LimitError, LimitRule};
use crate::target::Target;
use crate::upstream::UpstreamGroup;

/// Largest request body on the mock provider's route (its forms are small).
const MOCK_IDP_MAX_BODY_BYTES: u64 = 64 * 1024;

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Route {
    /// A path prefix such as `/shop`; `/` is the default route.
    pub prefix: String,
    pub target: Target,
    /// Largest request body accepted on this route (413 beyond).
    pub max_body_bytes: u64,
    /// Whether `Upgrade: websocket` is switched here.
    pub websocket: bool,
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
    InconsistentUpstreams(Target),
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// All routes, longest prefix first so the first match wins, and the limits.
#[derive(Clone, Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
    limits: Vec<LimitRule>,
}

impl RouteTable {
    /// Validates `manifest` and builds the table. Instances of one zone are
    /// shared by all its routes (one health state, one rotation). The mock
    /// provider gets its route only from `manifest.mock_idp_upstream`.
    pub fn from_manifest(manifest: &Manifest, cool_down: Duration) -> Result<Self, RouteError> {
        let mut groups: BTreeMap<String, (Vec<Authority>, Arc<UpstreamGroup>)> = BTreeMap::new();
        let mut routes = Vec::new();
        let mock = manifest
            .mock_idp_upstream
            .as_ref()
            .map(|upstream| RouteSpec {
                max_body_bytes: MOCK_IDP_MAX_BODY_BYTES,
                ..RouteSpec::new(
                    MOCK_IDP_PREFIX,
                    Target::MockIdp.name(),
                    vec![upstream.clone()],
                )
            });
        let specs = (manifest.routes.iter().map(|spec| (spec, false)))
            .chain(mock.iter().map(|spec| (spec, true)));
        for (spec, is_mock) in specs {
            if !prefix::is_valid(&spec.prefix) {
                return Err(RouteError::BadPrefix(spec.prefix.clone()));
            }
            let target = if is_mock {
                Target::MockIdp
            } else {
                let zone: Zone = spec.zone.parse().map_err(|_| RouteError::UnknownZone {
                    prefix: spec.prefix.clone(),
                    zone: spec.zone.clone(),
                })?;
                Target::Zone(zone)
            };
            let authorities = authorities(spec)?;
            let group = match groups.get(target.name()) {
                Some((known, group)) if *known == authorities => group.clone(),
                Some(_) => return Err(RouteError::InconsistentUpstreams(target)),
                None => {
                    let group =
                        Arc::new(UpstreamGroup::new(target, authorities.clone(), cool_down));
                    groups.insert(target.name().to_owned(), (authorities, group.clone()));
                    group
                }
            };
            routes.push(Route {
                prefix: spec.prefix.clone(),
                target,
                max_body_bytes: spec.max_body_bytes,
                websocket: spec.websocket,
                upstreams: group,
            });
        }
        let limits = manifest
            .limits
            .iter()
            .map(LimitRule::from_spec)
            .collect::<Result<_, _>>()?;
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
        Ok(Self { routes, limits })
    }

    /// The route for `path`: the longest prefix that matches whole segments
    /// (`/shop` matches `/shop` and `/shop/cart`, not `/shopping`).
    pub fn resolve(&self, path: &str) -> &Route {
        self.routes
            .iter()
            .find(|route| prefix::matches(&route.prefix, path))
            .unwrap_or_else(|| self.default_route())
    }

    /// All routes, longest prefix first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The `[[limit]]`s, validated.
    pub fn limits(&self) -> &[LimitRule] {
        &self.limits
    }

    /// Each target's instances, once per target.
    pub fn groups(&self) -> Vec<Arc<UpstreamGroup>> {
        let mut groups: Vec<Arc<UpstreamGroup>> = Vec::new();
        for route in &self.routes {
            if !groups.iter().any(|g| g.target == route.target) {
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

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for route in &self.routes {
            let upstreams: Vec<String> = (0..route.upstreams.len())
                .map(|i| route.upstreams.get(i).authority.to_string())
                .collect();
            writeln!(
                f,
                "{:<12} → {:<9} {}{}",
                route.prefix,
                route.target.name(),
                upstreams.join(", "),
                if route.websocket { " (websocket)" } else { "" }
            )?;
        }
        for limit in &self.limits {
            let methods: Vec<&str> = limit.methods.iter().map(http::Method::as_str).collect();
            writeln!(
                f,
                "limit {} {}: burst {}, {}/s per client",
                if methods.is_empty() {
                    "*".to_owned()
                } else {
                    methods.join(",")
                },
                limit.path,
                limit.burst,
                limit.per_second
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
            max_body_bytes: 1024,
            ..RouteSpec::new(
                prefix,
                zone,
                upstreams.iter().map(|s| (*s).to_owned()).collect(),
            )
        }
    }

    fn table(specs: Vec<RouteSpec>) -> Result<RouteTable, RouteError> {
        RouteTable::from_manifest(
            &Manifest {
                routes: specs,
                ..Manifest::default()
            },
            Duration::from_secs(1),
        )
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
        let zone = |path: &str| table.resolve(path).target;
        assert_eq!(zone("/auth"), Target::Zone(Zone::Identity));
        assert_eq!(zone("/auth/login"), Target::Zone(Zone::Identity));
        // No mock provider unless its address is given.
        assert_eq!(zone("/mock-idp/authorize"), Target::Zone(Zone::Public));
        assert_eq!(zone("/shop"), Target::Zone(Zone::Shop));
        assert_eq!(zone("/shop/"), Target::Zone(Zone::Shop));
        assert_eq!(zone("/shop/pkg/app.wasm"), Target::Zone(Zone::Shop));
        assert_eq!(zone("/shopping"), Target::Zone(Zone::Public));
        assert_eq!(zone("/authority"), Target::Zone(Zone::Public));
        assert_eq!(zone("/"), Target::Zone(Zone::Public));
        assert_eq!(zone("/account-area"), Target::Zone(Zone::Public));
        assert_eq!(zone("/public/pkg/app.js"), Target::Zone(Zone::Public));
        assert_eq!(zone(""), Target::Zone(Zone::Public));
    }

    #[test]
    fn the_mock_provider_is_routed_only_when_given() {
        let mut manifest = Manifest::standard(|z| vec![z.default_addr().to_string()], 1024);
        manifest.mock_idp_upstream = Some("127.0.0.1:3009".into());
        let table = RouteTable::from_manifest(&manifest, Duration::from_secs(1)).unwrap();
        let route = table.resolve("/mock-idp/authorize");
        assert_eq!(route.target, Target::MockIdp);
        assert_eq!(route.upstreams.get(0).authority.as_str(), "127.0.0.1:3009");
        assert_eq!(route.upstreams.target, Target::MockIdp);
        assert_eq!(
            table.resolve("/mock-idpx").target,
            Target::Zone(Zone::Public)
        );
        assert_eq!(table.groups().len(), 4);
        assert!(table.to_string().contains("/mock-idp"));
        // A file naming the mock as a zone is refused like any unknown zone.
        let err = |specs| table_err(specs);
        assert_eq!(
            err(vec![
                spec("/mock-idp", "mock-idp", &["127.0.0.1:3009"]),
                spec("/", "public", &["127.0.0.1:1"])
            ]),
            RouteError::UnknownZone {
                prefix: "/mock-idp".into(),
                zone: "mock-idp".into()
            }
        );
        manifest.mock_idp_upstream = Some("nowhere".into());
        assert!(matches!(
            RouteTable::from_manifest(&manifest, Duration::from_secs(1)),
            Err(RouteError::BadUpstream { .. })
        ));
    }

    fn table_err(specs: Vec<RouteSpec>) -> RouteError {
        table(specs).unwrap_err()
    }

    #[test]
    fn limits_are_validated_with_the_routes() {
        let mut manifest = Manifest::standard(|z| vec![z.default_addr().to_string()], 1024);
        let table = RouteTable::from_manifest(&manifest, Duration::from_secs(1)).unwrap();
        assert_eq!(table.limits().len(), 5);
        for line in [
            "limit GET /auth/login",
            "limit GET /auth/callback",
            "limit POST /auth/logout",
        ] {
            assert!(table.to_string().contains(line), "{line}");
        }
        manifest.limits[0].burst = 0;
        assert_eq!(
            RouteTable::from_manifest(&manifest, Duration::from_secs(1)).unwrap_err(),
            RouteError::Limit(LimitError::BadRate("/auth/login".into()))
        );
    }

    #[test]
    fn a_zones_routes_share_one_upstream_group() {
        let up = &["127.0.0.1:3001"];
        let table = table(vec![
            spec("/auth", "identity", up),
            spec("/account", "identity", up),
            spec("/", "public", &["127.0.0.1:3003"]),
        ])
        .unwrap();
        let auth = table.resolve("/auth");
        let account = table.resolve("/account");
        assert!(Arc::ptr_eq(&auth.upstreams, &account.upstreams));
        assert_eq!(table.groups().len(), 2);
        let table = standard();
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
            RouteError::InconsistentUpstreams(Target::Zone(Zone::Shop))
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
        assert_eq!(
            table.resolve("/shop/admin/x").target,
            Target::Zone(Zone::Identity)
        );
        assert_eq!(
            table.resolve("/shop/administrator").target,
            Target::Zone(Zone::Shop)
        );
    }
}
