//! The `/…/me` contract: every zone answers the same shape, so a client (or
//! a test) can ask any zone who the current user is.

use serde::{Deserialize, Serialize};

use crate::Zone;

/// Body of `GET /auth/me`, `GET /shop/api/me` and `GET /api/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeResponse {
    pub authenticated: bool,
    pub zone: Zone,
    pub user: Option<UserSummary>,
}

/// The public part of a signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
}

impl MeResponse {
    /// The answer of `zone` for a request with (or without) a signed-in user.
    pub fn new(zone: Zone, user: Option<UserSummary>) -> Self {
        Self {
            authenticated: user.is_some(),
            zone,
            user,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_shape() {
        let json = serde_json::to_string(&MeResponse::new(Zone::Shop, None)).unwrap();
        assert_eq!(json, r#"{"authenticated":false,"zone":"shop","user":null}"#);
    }

    #[test]
    fn signed_in_shape() {
        let user = UserSummary {
            id: "u1".into(),
            username: "alice".into(),
        };
        let json = serde_json::to_string(&MeResponse::new(Zone::Identity, Some(user))).unwrap();
        assert_eq!(
            json,
            r#"{"authenticated":true,"zone":"identity","user":{"id":"u1","username":"alice"}}"#
        );
    }
}
