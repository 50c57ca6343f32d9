//! Session tokens: a short-lived, identity-signed statement of who a
//! session belongs to, which any zone can check without the store.
//!
//! Identity signs them with an Ed25519 key ([`SigningKey`], `EdDSA`) and
//! publishes the public halves as a JWKS; a zone builds a [`Verifier`]
//! from that JWKS and checks a token's signature, algorithm, key id,
//! issuer, audience and times. The store stays the source of truth: a
//! token only lives [`DEFAULT_TTL_SECS`] and says which session (`sid`)
//! it speaks for.

#[cfg(feature = "jwks-client")]
mod jwks_cache;
mod keys;
mod verifier;

use serde::{Deserialize, Serialize};

#[cfg(feature = "jwks-client")]
pub use jwks_cache::{JWKS_MIN_REFETCH, JwksCache, JwksError};
pub use keys::{KeyError, SigningKey};
pub use verifier::{LEEWAY_SECS, Rejected, Verifier};

/// How long a session token lives unless configured otherwise.
pub const DEFAULT_TTL_SECS: u64 = 300;

/// The longest life identity may give a session token; verifiers refuse
/// a token that claims more.
pub const MAX_TTL_SECS: u64 = 3600;

/// The longest token a verifier reads; anything longer is refused unread.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// What a session token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who signed it: identity, as `<PUBLIC_ORIGIN>/auth`.
    pub iss: String,
    /// Who it is for: the site, as `<PUBLIC_ORIGIN>`.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The session's id (what revocation names).
    pub sid: String,
    /// The user's display name, for the header.
    pub name: String,
    /// The user's login name (what `/…/me` reports).
    #[serde(rename = "preferred_username")]
    pub username: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}
