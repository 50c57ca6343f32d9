//! What a route sends requests to: one of the zones, or (development only)
//! the mock OpenID provider, which is not a zone and is routed only when
//! the edge is given its address (`--mock-idp-upstream`).

use std::fmt;

use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;

/// The owner of a route's paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Zone(Zone),
    /// The development-only mock provider (`zones/mock-idp`).
    MockIdp,
}

impl Target {
    /// The name used in logs, `/_edge/status` and the manifest.
    pub const fn name(self) -> &'static str {
        match self {
            Target::Zone(zone) => zone.name(),
            Target::MockIdp => "mock-idp",
        }
    }

    /// How error pages call it: "the shop zone", "the mock identity provider".
    pub fn label(self) -> String {
        match self {
            Target::Zone(zone) => format!("{} zone", zone.name()),
            Target::MockIdp => "mock identity provider".to_owned(),
        }
    }

    /// The path the active health probe requests (answers `200 ok`).
    pub fn health_path(self) -> String {
        match self {
            Target::Zone(zone) => zone.health_path(),
            Target::MockIdp => format!("{MOCK_IDP_PREFIX}/health"),
        }
    }
}

impl From<Zone> for Target {
    fn from(zone: Zone) -> Self {
        Target::Zone(zone)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_is_named_apart_from_the_zones() {
        assert_eq!(Target::MockIdp.health_path(), "/mock-idp/health");
        assert_eq!(Target::from(Zone::Shop).health_path(), "/shop/api/health");
        assert_eq!(Target::Zone(Zone::Shop).label(), "shop zone");
        assert!(Zone::ALL.iter().all(|z| z.name() != Target::MockIdp.name()));
    }
}
