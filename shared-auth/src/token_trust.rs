//! Token mode: who a request belongs to without reading the store.
//!
//! A session token is trusted only when every condition holds: it verifies
//! against identity's JWKS ([`JwksCache`]), its session is not in the
//! revocation log, and this process has read that log lately
//! ([`RevocationFeed`]). Otherwise, a request that carries a session cookie
//! gets a fresh token from identity, which reads the store
//! ([`Refreshes`]): the store stays the source of truth, and a zone that
//! has lost the revocation log asks identity rather than trusting what it
//! cannot check.
//!
//! Verified tokens are remembered until they expire (the cache is bounded)
//! so that a signed-in request costs a memory lookup, not a signature
//! check; the revocation log is consulted on every request all the same.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use quick_cache::sync::Cache;

use crate::auth::CurrentSession;
use crate::cookie::Cookies;
use crate::session_token::{Claims, JwksCache, JwksError};
use crate::store::{RevocationFeed, now};
use crate::token_refresh::{FreshToken, Refreshed, Refreshes};

/// How often a zone reads the revocation log.
pub const FEED_POLL: Duration = Duration::from_millis(250);

/// How old the revocation log's last reading may be (counted from when the
/// read began) before tokens are no longer trusted and identity is asked
/// instead: three polls. This is the bound on how long a revoked session's
/// token can still be accepted.
pub const FEED_STALE_AFTER: Duration = Duration::from_millis(750);

/// How many verified tokens a process remembers.
const VERIFIED_CAPACITY: usize = 20_000;

/// How often a zone fetches identity's JWKS again (its `Cache-Control:
/// max-age`), to notice keys identity removed.
pub const JWKS_REFRESH: Duration = Duration::from_secs(60);

/// What a zone in token mode checks a session token against.
#[derive(Debug)]
pub struct TokenTrust {
    jwks: JwksCache,
    feed: Arc<RevocationFeed>,
    refreshes: Refreshes,
    cookies: Cookies,
    stale_after: Duration,
    /// Token → its claims, for tokens that verified.
    verified: Cache<String, Claims>,
}

/// Who a request belongs to in token mode, and the cookies its response
/// carries (a refreshed token, an extended session, or both cleared).
#[derive(Debug)]
pub struct Resolved {
    pub current: CurrentSession,
    pub set_cookies: Vec<HeaderValue>,
}

impl TokenTrust {
    pub fn new(
        jwks: JwksCache,
        feed: Arc<RevocationFeed>,
        refreshes: Refreshes,
        cookies: Cookies,
    ) -> Self {
        Self {
            jwks,
            feed,
            refreshes,
            cookies,
            stale_after: FEED_STALE_AFTER,
            verified: Cache::new(VERIFIED_CAPACITY),
        }
    }

    /// The JWKS copy (the runtime fetches it at start).
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// Fetches the JWKS every [`JWKS_REFRESH`], until the process ends;
    /// when a key is gone from it, every remembered token is forgotten
    /// (each is verified again, against the keys identity still publishes).
    pub async fn keep_keys_fresh(self: Arc<Self>) {
        let mut tick = tokio::time::interval(JWKS_REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(err) = self.refresh_keys().await {
                tracing::warn!("cannot refresh identity's JWKS: {err}");
            }
        }
    }

    /// Fetches the JWKS once; forgets every remembered token when a key is
    /// gone from it. Whether one was.
    pub async fn refresh_keys(&self) -> Result<bool, JwksError> {
        let removed = self.jwks.refresh().await?;
        if removed {
            self.verified.clear();
            tracing::info!("a session-token key was removed: verified tokens forgotten");
        }
        Ok(removed)
    }

    /// The request's session: its token when it may be trusted, else a
    /// fresh one from identity when it carries a session cookie, else
    /// nobody.
    pub async fn resolve(&self, headers: &HeaderMap) -> Resolved {
        let presented = self.cookies.session_jwt_value(headers);
        if let Some(jwt) = presented
            && let Some(claims) = self.check(jwt).await
        {
            return Resolved::signed_in(&claims, Vec::new());
        }
        let Some(session_token) = self.cookies.session_token(headers) else {
            return Resolved::anonymous(Vec::new());
        };
        match self
            .refreshes
            .refresh(session_token, presented, &self.jwks)
            .await
        {
            Refreshed::Token(fresh) if !self.feed.is_revoked(&fresh.claims.sid) => {
                let FreshToken {
                    jwt,
                    claims,
                    max_age,
                    session_renewed_for,
                } = *fresh;
                let mut set_cookies = vec![self.cookies.session_jwt(&jwt, max_age)];
                if let Some(max_age) = session_renewed_for {
                    set_cookies.push(self.cookies.session(session_token, max_age));
                }
                self.verified.insert(jwt, claims.clone());
                Resolved::signed_in(&claims, set_cookies)
            }
            // Revoked between identity's answer and now: anonymous, and the
            // next request finds the session gone.
            Refreshed::Token(_) | Refreshed::Unavailable => Resolved::anonymous(Vec::new()),
            Refreshed::Ended => Resolved::anonymous(vec![
                self.cookies.clear_session(),
                self.cookies.clear_session_jwt(),
            ]),
        }
    }

    /// Forgets what this process kept for a session a handler here just
    /// changed or ended: the refresh answer kept for its cookie and its
    /// verified token (verified again should it come back). Other
    /// processes learn of an end from the revocation log.
    pub fn forget(&self, session_token: Option<&str>, jwt: Option<&str>) {
        if let Some(session_token) = session_token {
            self.refreshes.forget(session_token);
        }
        if let Some(jwt) = jwt {
            self.verified.remove(jwt);
        }
    }

    /// The claims of `jwt` when it may be trusted without the store. A
    /// refusal is logged at debug level, without the token.
    pub async fn check(&self, jwt: &str) -> Option<Claims> {
        if !self.feed.is_current(self.stale_after) {
            tracing::debug!("the revocation log is not current: session token not trusted");
            return None;
        }
        let now = now();
        let claims = match self.verified.get(jwt) {
            Some(claims) if claims.exp > now => claims,
            Some(_) => {
                self.verified.remove(jwt);
                tracing::debug!("session token expired");
                return None;
            }
            None => match self.jwks.verify(jwt, now).await {
                Ok(claims) => {
                    self.verified.insert(jwt.to_owned(), claims.clone());
                    claims
                }
                Err(reason) => {
                    tracing::debug!(%reason, "session token refused");
                    return None;
                }
            },
        };
        if self.feed.is_revoked(&claims.sid) {
            tracing::debug!(sid = %claims.sid, "session token of a revoked session");
            return None;
        }
        Some(claims)
    }
}

impl Resolved {
    fn signed_in(claims: &Claims, set_cookies: Vec<HeaderValue>) -> Self {
        Self {
            current: CurrentSession::from_token(claims),
            set_cookies,
        }
    }

    fn anonymous(set_cookies: Vec<HeaderValue>) -> Self {
        Self {
            current: CurrentSession::anonymous(),
            set_cookies,
        }
    }
}
