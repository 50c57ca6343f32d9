//! Token mode's way back to the store: a request whose session token is
//! missing, expired or not trusted, but which carries a session cookie,
//! gets a fresh token from identity, which reads the store (and extends
//! the session as any lookup does). Identity refreshes in-process; every
//! other zone asks identity's internal route directly, never through the
//! browser or the edge. Concurrent refreshes of one session in one process
//! collapse into one call, whose answer is reused for [`REFRESH_REUSE`] by
//! the requests that came with the same token cookie (a page's parallel
//! requests). A request with another token, such as the one identity set
//! after a profile change, never gets an answer read before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use contracts::session_token::TokenGrant;
use http::{StatusCode, header};
use tokio::sync::{OnceCell, Semaphore};

use crate::cookie::Cookies;
use crate::session_token::{Claims, JwksCache};
use crate::store::now;
use crate::token::hash;
use crate::token_issuer::TokenIssuer;

/// How long one refresh's answer serves the other requests of its session
/// (a page's parallel requests, all sent with the expired token). Short:
/// an answer reused is one the store gave that long ago.
pub const REFRESH_REUSE: Duration = Duration::from_millis(500);

/// At most this many sessions' refreshes are remembered; beyond it a
/// refresh is made without being shared.
const MAX_REMEMBERED: usize = 10_000;

/// How long a zone waits for identity before serving the request as
/// anonymous (the cookies are kept).
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this many refreshes of one zone process are at identity at
/// once; more wait their turn (within [`REFRESH_TIMEOUT`]), so a flood of
/// made-up session cookies at a zone cannot multiply into a flood at
/// identity.
const MAX_CONCURRENT_REFRESHES: usize = 32;

/// A fresh token for a live session.
#[derive(Clone, Debug)]
pub struct FreshToken {
    pub jwt: String,
    pub claims: Claims,
    /// The token cookie's `Max-Age`.
    pub max_age: i64,
    /// The session cookie's new `Max-Age` when the session was extended.
    pub session_renewed_for: Option<i64>,
}

/// What a refresh found.
#[derive(Clone, Debug)]
pub enum Refreshed {
    /// The session is alive: a fresh token for it.
    Token(Box<FreshToken>),
    /// The session cookie names no live session (signed out, expired,
    /// revoked, forged): the cookies are cleared.
    Ended,
    /// Identity could not say (down, slow, a broken answer): the request is
    /// anonymous and the cookies are kept, so nobody is signed out by an
    /// outage.
    Unavailable,
}

/// Where fresh tokens come from.
#[derive(Debug)]
pub enum Refresher {
    /// Identity itself: its store and signer.
    Local(TokenIssuer),
    /// Any other zone: identity's internal route.
    Remote {
        url: String,
        cookies: Cookies,
        http: reqwest::Client,
        in_flight: Arc<Semaphore>,
    },
}

impl Refresher {
    /// Asks identity at `url` (its [`contracts::zone::SESSION_TOKEN_REFRESH_PATH`]
    /// on its internal address).
    pub fn remote(url: String, cookies: Cookies) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REFRESH_TIMEOUT)
            .build()?;
        Ok(Self::Remote {
            url,
            cookies,
            http,
            in_flight: Arc::new(Semaphore::new(MAX_CONCURRENT_REFRESHES)),
        })
    }

    async fn refresh(&self, session_token: &str, jwks: &JwksCache) -> Refreshed {
        match self {
            Self::Local(issuer) => match issuer.refresh(session_token).await {
                Ok(Some((issued, session_renewed_for))) => Refreshed::Token(Box::new(FreshToken {
                    jwt: issued.jwt,
                    claims: issued.claims,
                    max_age: issued.max_age,
                    session_renewed_for,
                })),
                Ok(None) => Refreshed::Ended,
                Err(err) => {
                    tracing::warn!("cannot refresh a session token: {err}");
                    Refreshed::Unavailable
                }
            },
            Self::Remote {
                url,
                cookies,
                http,
                in_flight,
            } => {
                let Ok(Ok(_turn)) =
                    tokio::time::timeout(REFRESH_TIMEOUT, in_flight.acquire()).await
                else {
                    tracing::warn!("too many token refreshes waiting for identity");
                    return Refreshed::Unavailable;
                };
                let cookie = format!("{}={session_token}", cookies.session_name());
                let answer = http.post(url).header(header::COOKIE, cookie).send().await;
                let response = match answer {
                    Ok(response) => response,
                    Err(err) => {
                        tracing::warn!("cannot reach identity to refresh a session token: {err}");
                        return Refreshed::Unavailable;
                    }
                };
                match response.status() {
                    StatusCode::OK => {}
                    StatusCode::UNAUTHORIZED => return Refreshed::Ended,
                    status => {
                        tracing::warn!("identity answered {status} to a token refresh");
                        return Refreshed::Unavailable;
                    }
                }
                let grant: TokenGrant = match response.json().await {
                    Ok(grant) => grant,
                    Err(err) => {
                        tracing::warn!("identity's token refresh is not readable: {err}");
                        return Refreshed::Unavailable;
                    }
                };
                // Checked like any token: a zone trusts nothing it cannot verify.
                match jwks.verify_from_identity(&grant.token, now()).await {
                    Ok(claims) => Refreshed::Token(Box::new(FreshToken {
                        jwt: grant.token,
                        claims,
                        max_age: grant.expires_in,
                        session_renewed_for: grant.session_renewed_for,
                    })),
                    Err(reason) => {
                        tracing::warn!(%reason, "identity's fresh session token does not verify");
                        Refreshed::Unavailable
                    }
                }
            }
        }
    }
}

/// One session's refresh, shared by the requests that need it.
#[derive(Debug)]
struct Shared {
    started: Instant,
    /// The hash of the token cookie its requests came with (empty for
    /// none): only requests with that same cookie share it.
    presented: String,
    answer: OnceCell<Refreshed>,
}

/// A process's refreshes, collapsed per session.
#[derive(Debug)]
pub struct Refreshes {
    refresher: Refresher,
    recent: Mutex<Recent>,
    /// How long an answer is reused ([`REFRESH_REUSE`]).
    reuse: Duration,
}

/// The refreshes of the last [`REFRESH_REUSE`], one per session, keyed by
/// the session cookie's hash (the secrets themselves are not kept).
#[derive(Debug)]
struct Recent {
    by_session: HashMap<String, Arc<Shared>>,
    /// Old entries are dropped at most this often, so that a flood of
    /// made-up cookies cannot make every request walk the whole map.
    pruned_at: Instant,
}

impl Refreshes {
    pub fn new(refresher: Refresher) -> Self {
        Self {
            refresher,
            recent: Mutex::new(Recent {
                by_session: HashMap::new(),
                pruned_at: Instant::now(),
            }),
            reuse: REFRESH_REUSE,
        }
    }

    /// Reuses answers for `reuse` instead of [`REFRESH_REUSE`] (tests that
    /// must not depend on how fast a loaded machine runs them).
    #[must_use]
    pub fn reusing_for(mut self, reuse: Duration) -> Self {
        self.reuse = reuse;
        self
    }

    /// Drops the answer kept for `session_token`'s session (it ended): the
    /// next request with that cookie asks again.
    pub fn forget(&self, session_token: &str) {
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .by_session
            .remove(&hash(session_token));
    }

    /// A fresh token for the session of cookie token `session_token`, for
    /// a request that came with the token cookie `presented` (if any); the
    /// requests asking for one session with the same token cookie at the
    /// same time share one call.
    pub async fn refresh(
        &self,
        session_token: &str,
        presented: Option<&str>,
        jwks: &JwksCache,
    ) -> Refreshed {
        let presented = presented.map(hash).unwrap_or_default();
        let shared = {
            let mut recent = self
                .recent
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if recent.pruned_at.elapsed() >= self.reuse / 4 {
                recent
                    .by_session
                    .retain(|_, shared| shared.started.elapsed() < self.reuse);
                recent.pruned_at = Instant::now();
            }
            let key = hash(session_token);
            match recent.by_session.get(&key) {
                Some(shared)
                    if shared.started.elapsed() < self.reuse && shared.presented == presented =>
                {
                    Some(shared.clone())
                }
                known if known.is_some() || recent.by_session.len() < MAX_REMEMBERED => {
                    let shared = Arc::new(Shared {
                        started: Instant::now(),
                        presented,
                        answer: OnceCell::new(),
                    });
                    recent.by_session.insert(key, shared.clone());
                    Some(shared)
                }
                _ => None,
            }
        };
        match shared {
            Some(shared) => shared
                .answer
                .get_or_init(|| self.refresher.refresh(session_token, jwks))
                .await
                .clone(),
            None => self.refresher.refresh(session_token, jwks).await,
        }
    }
}
