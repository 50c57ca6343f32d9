//! Signing session tokens: what only identity does. The keys live in the
//! store, so every identity instance signs with the same newest key and
//! publishes the same set; a key retired by `cargo xtask rotate-keys` stays
//! published until every token it signed has expired. Identity builds one
//! [`TokenIssuer`] and uses it at sign-in, after a profile change, and
//! behind its two routes: [`jwks_route`] (the JWKS at
//! `/auth/.well-known/jwks.json`, for everyone) and [`refresh_route`]
//! (`/auth/internal/session-token`, for the other zones' servers only). No
//! other zone builds one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use contracts::session_token::TokenGrant;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;

use crate::auth::{Auth, CurrentSession};
use crate::session_token::{Claims, KeyError, LEEWAY_SECS, SigningKey};
use crate::store::{Session, StoreError, now};
use contracts::User;

/// Why no token could be signed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("session-token signing key: {0}")]
    Key(#[from] KeyError),
    #[error("no session-token signing key after creating one")]
    NoKey,
}

/// A signed token, its claims, and how long its cookie lives.
#[derive(Clone, Debug)]
pub struct Issued {
    pub jwt: String,
    pub claims: Claims,
    /// Seconds until it expires: its cookie's `Max-Age`.
    pub max_age: i64,
}

/// How long identity signs with the key it last read from the store
/// before reading it again. A rotation (`cargo xtask rotate-keys`, another
/// process) takes effect within it; the key it replaces stays published
/// for a token's whole lifetime, so tokens signed meanwhile verify.
const KEY_REUSE: Duration = Duration::from_secs(1);

/// Identity's signer.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    auth: Auth,
    ttl: Duration,
    /// The signing key as last read, and when: read (two queries, and the
    /// key's public half derived) once per [`KEY_REUSE`], not per token.
    key: Arc<Mutex<Option<(Instant, SigningKey)>>>,
    key_reuse: Duration,
}

impl TokenIssuer {
    /// Signs tokens living `ttl` for the sessions in `auth`'s store.
    pub fn new(auth: &Auth, ttl: Duration) -> Self {
        Self {
            auth: auth.clone(),
            ttl,
            key: Arc::new(Mutex::new(None)),
            key_reuse: KEY_REUSE,
        }
    }

    /// Reads the signing key again after `reuse` instead of [`KEY_REUSE`]
    /// (tests that must not depend on how fast a loaded machine runs them).
    #[must_use]
    pub fn reusing_key_for(mut self, reuse: Duration) -> Self {
        self.key_reuse = reuse;
        self
    }

    /// The store and settings it signs for.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    fn ttl_secs(&self) -> i64 {
        i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX)
    }

    /// The key to sign with (as read at most [`KEY_REUSE`] ago); the first
    /// use ever creates one.
    pub async fn signing_key(&self) -> Result<SigningKey, IssueError> {
        if let Some((read_at, key)) = self.lock_key().as_ref()
            && read_at.elapsed() < self.key_reuse
        {
            return Ok(key.clone());
        }
        let key = self.read_signing_key().await?;
        *self.lock_key() = Some((Instant::now(), key.clone()));
        Ok(key)
    }

    fn lock_key(&self) -> std::sync::MutexGuard<'_, Option<(Instant, SigningKey)>> {
        self.key
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The signing key in the store; the first use ever creates one.
    async fn read_signing_key(&self) -> Result<SigningKey, IssueError> {
        let store = self.auth.store();
        if store.signing_key().await?.is_none() {
            let key = SigningKey::generate()?;
            if store
                .add_first_signing_key(key.kid(), &key.to_stored())
                .await?
            {
                tracing::info!(kid = key.kid(), "created the session-token signing key");
            }
        }
        let stored = store.signing_key().await?.ok_or(IssueError::NoKey)?;
        Ok(SigningKey::from_stored(&stored.private_key)?)
    }

    /// A token for `user`'s `session`: it expires after the configured
    /// lifetime, never after the session itself.
    pub async fn issue(&self, user: &User, session: &Session) -> Result<Issued, IssueError> {
        let key = self.signing_key().await?;
        let now = now();
        let exp = now.saturating_add(self.ttl_secs()).min(session.expires_at);
        let claims = self
            .auth
            .config()
            .session_claims(user, &session.id, now, exp);
        let jwt = key.sign(&claims)?;
        Ok(Issued {
            jwt,
            claims,
            max_age: exp - now,
        })
    }

    /// A token for the session whose cookie token is `session_token`, read
    /// from the store (which extends it past half its life, as every
    /// store lookup does): `None` when that session is not alive. The
    /// second value is the session cookie's new `Max-Age` when the session
    /// was extended.
    pub async fn refresh(
        &self,
        session_token: &str,
    ) -> Result<Option<(Issued, Option<i64>)>, IssueError> {
        let Some(validated) = self
            .auth
            .store()
            .validate_session(session_token, self.auth.policy())
            .await?
        else {
            return Ok(None);
        };
        let issued = self.issue(&validated.user, &validated.session).await?;
        let renewed = validated
            .renewed
            .then(|| validated.session.remaining_secs());
        Ok(Some((issued, renewed)))
    }

    /// A fresh token for the session of `current`, now speaking for `user`
    /// (after a profile change): `None` when the request is anonymous or
    /// its session has ended meanwhile.
    pub async fn reissue(
        &self,
        current: &CurrentSession,
        user: &User,
    ) -> Result<Option<Issued>, IssueError> {
        let Some(id) = current.session_id() else {
            return Ok(None);
        };
        let row = match current.session_row() {
            Some(row) => Some(row.clone()),
            None => self.auth.store().session(id).await?,
        };
        match row {
            Some(session) => Ok(Some(self.issue(user, &session).await?)),
            None => Ok(None),
        }
    }

    /// The published keys: the signing key, and retired keys whose tokens
    /// may still be alive. A stored key that cannot be read is left out
    /// (and logged), never published half-read.
    pub async fn jwks(&self) -> Result<JwkSet, IssueError> {
        self.signing_key().await?;
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let stored = self
            .auth
            .store()
            .signing_keys(now().saturating_sub(self.ttl_secs().saturating_add(leeway)))
            .await?;
        let keys = stored
            .iter()
            .filter_map(
                |stored| match SigningKey::from_stored(&stored.private_key) {
                    Ok(key) => Some(key.jwk()),
                    Err(err) => {
                        tracing::error!(kid = %stored.kid, "unreadable signing key: {err}");
                        None
                    }
                },
            )
            .collect();
        Ok(JwkSet { keys })
    }
}

/// How long a zone may keep the JWKS before asking again (it asks at once
/// for a key id it does not know): as often as zones do ask.
const JWKS_MAX_AGE_SECS: u64 = crate::token_trust::JWKS_REFRESH.as_secs();

/// `GET /auth/.well-known/jwks.json`.
pub async fn jwks_route(State(issuer): State<TokenIssuer>) -> Response {
    match issuer.jwks().await {
        Ok(set) => {
            let mut response = Json(set).into_response();
            if let Ok(value) =
                HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
            {
                response.headers_mut().insert(header::CACHE_CONTROL, value);
            }
            response
        }
        Err(err) => {
            tracing::error!("cannot read the session-token keys: {err}");
            unavailable("The key set is temporarily unavailable.")
        }
    }
}

/// `POST /auth/internal/session-token`, from another zone's server with
/// the browser's session cookie: a fresh token for that session (a
/// [`TokenGrant`]), `401` when the cookie names no live session, `503`
/// when the store cannot say.
pub async fn refresh_route(State(issuer): State<TokenIssuer>, headers: HeaderMap) -> Response {
    let Some(session_token) = issuer.auth.cookies().session_token(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let mut response = match issuer.refresh(session_token).await {
        Ok(Some((issued, session_renewed_for))) => Json(TokenGrant {
            token: issued.jwt,
            expires_in: issued.max_age,
            session_renewed_for,
        })
        .into_response(),
        Ok(None) => StatusCode::UNAUTHORIZED.into_response(),
        Err(err) => {
            tracing::error!("cannot refresh a session token: {err}");
            return unavailable("The session store is unavailable.");
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unavailable(message: &'static str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        message,
    )
        .into_response()
}
