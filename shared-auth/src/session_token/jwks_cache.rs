//! A zone's copy of identity's JWKS: fetched at start (patiently, identity
//! may start later), kept in memory, fetched again every minute (so a key
//! identity removed stops being trusted; see `token_trust`), and when a
//! token names a key id the copy does not know, at most once per
//! [`JWKS_MIN_REFETCH`], so a stream of forged key ids cannot make a zone
//! hammer identity.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use super::{Claims, Rejected, Verifier};

/// The shortest time between two fetches caused by unknown key ids.
pub const JWKS_MIN_REFETCH: Duration = Duration::from_secs(5);

/// Why the JWKS could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot fetch the JWKS from {url}: {source}")]
    Fetch { url: String, source: reqwest::Error },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("the JWKS from {url} is not readable: {source}")]
    Body { url: String, source: reqwest::Error },
}

/// Identity's published keys, as this process last fetched them.
pub struct JwksCache {
    url: String,
    issuer: String,
    audience: String,
    http: reqwest::Client,
    verifier: RwLock<Arc<Verifier>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// An empty copy of the JWKS at `url`, for tokens from `issuer` to
    /// `audience`; nothing verifies until [`Self::fetch`] succeeds.
    pub fn new(url: &str, issuer: &str, audience: &str) -> Result<Self, JwksError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|source| JwksError::Fetch {
                url: url.to_owned(),
                source,
            })?;
        let empty = JwkSet { keys: Vec::new() };
        Ok(Self {
            url: url.to_owned(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            http,
            verifier: RwLock::new(Arc::new(Verifier::new(&empty, issuer, audience))),
            last_fetch: Mutex::new(None),
        })
    }

    /// Fetches the JWKS and replaces the copy.
    pub async fn fetch(&self) -> Result<(), JwksError> {
        *self.lock_last_fetch() = Some(Instant::now());
        let url = &self.url;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|source| JwksError::Fetch {
                url: url.clone(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(JwksError::Status {
                url: url.clone(),
                status: response.status().as_u16(),
            });
        }
        let set: JwkSet = response.json().await.map_err(|source| JwksError::Body {
            url: url.clone(),
            source,
        })?;
        let verifier = Verifier::new(&set, &self.issuer, &self.audience);
        *self
            .verifier
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(verifier);
        Ok(())
    }

    /// [`Self::fetch`], telling whether a key the copy knew is gone from
    /// identity's set (a key removed: tokens it signed must not be trusted
    /// any more, also those remembered as verified).
    pub async fn refresh(&self) -> Result<bool, JwksError> {
        let before: Vec<String> = self.current().kids().map(str::to_owned).collect();
        self.fetch().await?;
        let after = self.current();
        Ok(before.iter().any(|kid| !after.knows(kid)))
    }

    /// [`Self::fetch`], retried every half second for up to `wait` (the
    /// zones and identity start together); the last error if it never
    /// succeeds.
    pub async fn fetch_patiently(&self, wait: Duration) -> Result<(), JwksError> {
        let deadline = Instant::now() + wait;
        loop {
            match self.fetch().await {
                Ok(()) => return Ok(()),
                Err(err) if Instant::now() >= deadline => return Err(err),
                Err(err) => {
                    tracing::info!("waiting for identity's JWKS: {err}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Verifies `token` against the copy; for a key id the copy does not
    /// know, fetches the JWKS again (unless one was fetched less than
    /// [`JWKS_MIN_REFETCH`] ago) and tries once more.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Claims, Rejected> {
        match self.current().verify(token, now) {
            Err(Rejected::UnknownKey(kid)) if self.may_refetch() => {
                if let Err(err) = self.fetch().await {
                    tracing::warn!("cannot refresh the JWKS for key {kid:?}: {err}");
                    return Err(Rejected::UnknownKey(kid));
                }
                self.current().verify(token, now)
            }
            other => other,
        }
    }

    /// Verifies a token identity itself just handed over (a refresh, over
    /// the internal address): a key id the copy does not know is fetched
    /// at once, without [`JWKS_MIN_REFETCH`]'s wait, since no browser can
    /// make this call (a zone that just started, before its first fetch
    /// completed, would otherwise refuse identity's own fresh token).
    pub async fn verify_from_identity(&self, token: &str, now: i64) -> Result<Claims, Rejected> {
        match self.current().verify(token, now) {
            Err(Rejected::UnknownKey(kid)) => {
                if let Err(err) = self.fetch().await {
                    tracing::warn!("cannot fetch the JWKS for key {kid:?}: {err}");
                    return Err(Rejected::UnknownKey(kid));
                }
                self.current().verify(token, now)
            }
            other => other,
        }
    }

    fn current(&self) -> Arc<Verifier> {
        self.verifier
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn may_refetch(&self) -> bool {
        self.lock_last_fetch()
            .is_none_or(|at| at.elapsed() >= JWKS_MIN_REFETCH)
    }

    fn lock_last_fetch(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.last_fetch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
