//! The keys identity signs session tokens with, and their JWKS at
//! `/auth/.well-known/jwks.json`. The keys live in the store, so every
//! identity instance signs with the same newest key and publishes the same
//! set; a key retired by `cargo xtask rotate-keys` stays published until
//! every token it signed has expired.

use std::time::Duration;

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use contracts::User;
use http::{HeaderValue, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use shared_auth::auth::Auth;
use shared_auth::session_token::{Claims, LEEWAY_SECS, SigningKey};
use shared_auth::store::{Session, now};

/// How long a zone may keep the JWKS before asking again (it asks at once
/// for a key id it does not know).
const JWKS_MAX_AGE_SECS: u32 = 60;

/// What the JWKS route needs.
#[derive(Clone)]
pub struct SessionKeys {
    auth: Auth,
    token_ttl: Duration,
}

impl SessionKeys {
    pub fn new(auth: &Auth, token_ttl: Duration) -> Self {
        Self {
            auth: auth.clone(),
            token_ttl,
        }
    }

    /// The key to sign with; the first use ever creates one.
    pub async fn signing_key(&self) -> anyhow::Result<SigningKey> {
        let store = self.auth.store();
        if store.signing_key().await?.is_none() {
            let key = SigningKey::generate()?;
            if store
                .add_first_signing_key(key.kid(), &key.to_stored())
                .await
                .context("cannot store the first session-token signing key")?
            {
                tracing::info!(kid = key.kid(), "created the session-token signing key");
            }
        }
        let stored = store
            .signing_key()
            .await?
            .context("no session-token signing key after creating one")?;
        Ok(SigningKey::from_stored(&stored.private_key)?)
    }

    /// A session token for `user`'s new `session`, and how long its cookie
    /// lives: until the token expires, never past the session's own expiry.
    pub async fn issue(&self, user: &User, session: &Session) -> anyhow::Result<(String, i64)> {
        let key = self.signing_key().await?;
        let config = self.auth.config();
        let now = now();
        let ttl = i64::try_from(self.token_ttl.as_secs()).unwrap_or(i64::MAX);
        let exp = now.saturating_add(ttl).min(session.expires_at);
        let token = key.sign(&Claims {
            iss: config.token_issuer(),
            aud: config.token_audience().to_owned(),
            sub: user.id.clone(),
            sid: session.id.clone(),
            name: user.display_name.clone(),
            username: user.username.clone(),
            iat: now,
            exp,
        })?;
        Ok((token, exp - now))
    }

    /// The published keys: the signing key, and retired keys whose tokens
    /// may still be alive. A stored key that cannot be read is left out
    /// (and logged), never published half-read.
    pub async fn jwks(&self) -> anyhow::Result<JwkSet> {
        self.signing_key().await?;
        let ttl = i64::try_from(self.token_ttl.as_secs()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let stored = self
            .auth
            .store()
            .signing_keys(now().saturating_sub(ttl.saturating_add(leeway)))
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

/// `GET /auth/.well-known/jwks.json`.
pub async fn jwks(State(keys): State<SessionKeys>) -> Response {
    match keys.jwks().await {
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
            tracing::error!("cannot read the session-token keys: {err:#}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                "The key set is temporarily unavailable.",
            )
                .into_response()
        }
    }
}
