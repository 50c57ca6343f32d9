//! The route table: path prefix → zone → upstream address.

use std::fmt;

use http::uri::Authority;
use shared_auth::Zone;

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// A path prefix such as `/shop`; `/` is the default route.
    pub prefix: String,
    pub zone: Zone,
    /// `host:port` of the zone's server.
    pub upstream: Authority,
}

/// Why a route table was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouteError {
    #[error("route prefix `{0}` must start with `/` and must not end with `/` (except `/` itself)")]
    BadPrefix(String),
    #[error("route prefix `{0}` is listed twice")]
    Duplicate(String),
    #[error("there is no default route (`/`): some paths would reach no zone")]
    NoDefault,
    #[error("no upstream configured for the {0} zone")]
    NoUpstream(Zone),
}

/// All routes, longest prefix first so the first match wins.
#[derive(Clone, Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Builds and validates a table.
    pub fn new(mut routes: Vec<Route>) -> Result<Self, RouteError> {
        for route in &routes {
            let p = &route.prefix;
            let well_formed =
                p == "/" || (p.starts_with('/') && !p.ends_with('/') && !p.contains("//"));
            if !well_formed {
                return Err(RouteError::BadPrefix(p.clone()));
            }
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

    /// The table for the zone manifest: every prefix of every zone, sent to
    /// the upstream `upstream(zone)` returns.
    pub fn from_manifest(
        mut upstream: impl FnMut(Zone) -> Option<Authority>,
    ) -> Result<Self, RouteError> {
        let mut routes = Vec::new();
        for zone in Zone::ALL {
            let authority = upstream(zone).ok_or(RouteError::NoUpstream(zone))?;
            routes.extend(zone.prefixes().iter().map(|prefix| Route {
                prefix: (*prefix).to_owned(),
                zone,
                upstream: authority.clone(),
            }));
        }
        Self::new(routes)
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

    fn default_route(&self) -> &Route {
        // `new` guarantees a `/` route, and it sorts last.
        &self.routes[self.routes.len() - 1]
    }
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for route in &self.routes {
            writeln!(
                f,
                "{:<12} → {:<9} {}",
                route.prefix,
                route.zone.name(),
                route.upstream
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::from_manifest(|zone| Some(zone.default_addr().to_string().parse().unwrap()))
            .unwrap()
    }

    #[test]
    fn routes_by_whole_segments() {
        let table = table();
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
    fn upstreams_come_from_the_manifest_addresses() {
        let table = table();
        assert_eq!(
            table.resolve("/shop/cart").upstream.as_str(),
            "127.0.0.1:3002"
        );
        assert_eq!(table.resolve("/auth").upstream.as_str(), "127.0.0.1:3001");
        assert_eq!(table.resolve("/x").upstream.as_str(), "127.0.0.1:3003");
    }

    #[test]
    fn rejects_bad_tables() {
        let up: Authority = "127.0.0.1:1".parse().unwrap();
        let route = |prefix: &str| Route {
            prefix: prefix.into(),
            zone: Zone::Shop,
            upstream: up.clone(),
        };
        assert_eq!(
            RouteTable::new(vec![route("/shop/"), route("/")]).unwrap_err(),
            RouteError::BadPrefix("/shop/".into())
        );
        assert_eq!(
            RouteTable::new(vec![route("shop"), route("/")]).unwrap_err(),
            RouteError::BadPrefix("shop".into())
        );
        assert_eq!(
            RouteTable::new(vec![route("/shop"), route("/shop"), route("/")]).unwrap_err(),
            RouteError::Duplicate("/shop".into())
        );
        assert_eq!(
            RouteTable::new(vec![route("/shop")]).unwrap_err(),
            RouteError::NoDefault
        );
        assert_eq!(
            RouteTable::from_manifest(|z| (z != Zone::Shop).then(|| up.clone())).unwrap_err(),
            RouteError::NoUpstream(Zone::Shop)
        );
    }

    #[test]
    fn longest_prefix_wins() {
        let up: Authority = "127.0.0.1:1".parse().unwrap();
        let table = RouteTable::new(vec![
            Route {
                prefix: "/".into(),
                zone: Zone::Public,
                upstream: up.clone(),
            },
            Route {
                prefix: "/shop".into(),
                zone: Zone::Shop,
                upstream: up.clone(),
            },
            Route {
                prefix: "/shop/admin".into(),
                zone: Zone::Identity,
                upstream: up,
            },
        ])
        .unwrap();
        assert_eq!(table.resolve("/shop/admin/x").zone, Zone::Identity);
        assert_eq!(table.resolve("/shop/administrator").zone, Zone::Shop);
    }
}
