//! Token mode: trusting identity's session token instead of reading the
//! store, and only when every condition holds: the token verifies against
//! identity's JWKS ([`JwksCache`]), its session is not in the revocation
//! log, and this process has read that log lately ([`RevocationFeed`]).
//! Anything else sends the request down the store path, so the store
//! stays the source of truth.

use std::sync::Arc;
use std::time::Duration;

use crate::session_token::{Claims, JwksCache};
use crate::store::{RevocationFeed, now};

/// How often a zone reads the revocation log.
pub const FEED_POLL: Duration = Duration::from_millis(250);

/// How long the revocation log may go unread before tokens are no longer
/// trusted (the store is asked instead).
pub const FEED_STALE_AFTER: Duration = Duration::from_secs(2);

/// What a zone in token mode checks a session token against.
#[derive(Debug)]
pub struct TokenTrust {
    jwks: JwksCache,
    feed: Arc<RevocationFeed>,
    stale_after: Duration,
}

impl TokenTrust {
    pub fn new(jwks: JwksCache, feed: Arc<RevocationFeed>) -> Self {
        Self {
            jwks,
            feed,
            stale_after: FEED_STALE_AFTER,
        }
    }

    /// The JWKS copy (the runtime fetches it at start).
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// The claims of `jwt` when it may be trusted without the store. A
    /// refusal is logged at debug level, without the token.
    pub async fn check(&self, jwt: &str) -> Option<Claims> {
        if !self.feed.is_current(self.stale_after) {
            tracing::debug!("the revocation log is not current: session token not trusted");
            return None;
        }
        match self.jwks.verify(jwt, now()).await {
            Ok(claims) if self.feed.is_revoked(&claims.sid) => {
                tracing::debug!(sid = %claims.sid, "session token of a revoked session");
                None
            }
            Ok(claims) => Some(claims),
            Err(reason) => {
                tracing::debug!(%reason, "session token refused");
                None
            }
        }
    }
}
