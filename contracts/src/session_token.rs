//! What identity answers a zone that asks for a fresh session token at
//! [`crate::zone::SESSION_TOKEN_REFRESH_PATH`]: `200` with a
//! [`TokenGrant`], `401` when the session cookie names no live session,
//! anything else when identity cannot say (the zone then keeps the
//! cookies and serves the request as anonymous).

use serde::{Deserialize, Serialize};

/// A fresh session token for the session the request's cookie names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenGrant {
    /// The signed token (a JWT).
    pub token: String,
    /// Seconds until the token expires (its cookie's `Max-Age`).
    pub expires_in: i64,
    /// Set when identity extended the session (sliding expiry): the
    /// session cookie's new `Max-Age`, to re-issue it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_renewed_for: Option<i64>,
}
