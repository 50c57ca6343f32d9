//! Development only: a mock OpenID provider at `/mock-idp`, run beside the
//! zones by `cargo xtask dev`, `start` and `test`, never deployed. Enough
//! OIDC for a real client library: discovery, authorize with PKCE S256,
//! one-time codes, an id_token signed with an Ed25519 key published as
//! JWKS, userinfo, and RP-initiated logout. Any username signs in.
//!
//! It knows one client (`Config::client_id` with its secret), one redirect
//! URI (`<origin>/auth/callback`) and one post-logout URI
//! (`<origin>/auth/signed-out`). Its state is in memory and bounded
//! ([`grants`]); it has no database.

mod authorize;
pub mod config;
mod discovery;
mod grants;
pub mod keys;
mod logout;
mod page;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use contracts::zone::{AuthPath, MOCK_IDP_PREFIX};
use openidconnect::core::CoreEdDsaPrivateSigningKey;

pub use config::{Config, OriginError};
use grants::Grants;
pub use keys::KeyError;

/// Authorization codes are short-lived and single-use.
const CODE_TTL: Duration = Duration::from_secs(60);
/// Access and id tokens live five minutes.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// Why the provider cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The one client the mock provider knows.
#[derive(Clone, Debug)]
struct RegisteredClient {
    id: String,
    secret: String,
    redirect_uri: String,
    post_logout_redirect_uri: String,
}

#[derive(Clone)]
struct MockIdp {
    issuer: String,
    client: Arc<RegisteredClient>,
    key: Arc<CoreEdDsaPrivateSigningKey>,
    codes: Arc<Grants<authorize::CodeGrant>>,
    access_tokens: Arc<Grants<token::AccessGrant>>,
}

impl MockIdp {
    /// An absolute URL of one of the provider's endpoints.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The provider's routes, all under [`MOCK_IDP_PREFIX`]. Loads (or
/// creates) the signing key; refuses an https origin.
pub fn app(config: &Config) -> Result<Router, StartError> {
    let origin = config::parse_dev_origin(&config.public_origin)?;
    let capacity = usize::try_from(config.max_grants).unwrap_or(usize::MAX);
    let state = MockIdp {
        issuer: format!("{origin}{MOCK_IDP_PREFIX}"),
        client: Arc::new(RegisteredClient {
            id: config.client_id.clone(),
            secret: config.client_secret.clone(),
            redirect_uri: format!("{origin}{}", AuthPath::Callback.path()),
            post_logout_redirect_uri: format!("{origin}{}", AuthPath::SignedOut.path()),
        }),
        key: Arc::new(keys::load_or_create(&config.key_file)?),
        codes: Arc::new(Grants::new(capacity, CODE_TTL)),
        access_tokens: Arc::new(Grants::new(capacity, TOKEN_TTL)),
    };
    let path = |rest: &str| format!("{MOCK_IDP_PREFIX}{rest}");
    Ok(Router::new()
        .route(
            &path("/.well-known/openid-configuration"),
            get(discovery::configuration),
        )
        .route(&path("/jwks"), get(discovery::jwks))
        .route(
            &path("/authorize"),
            get(authorize::form).post(authorize::submit),
        )
        .route(&path("/token"), post(token::exchange))
        .route(&path("/userinfo"), get(token::userinfo))
        .route(
            &path("/logout"),
            get(logout::end_session).post(logout::end_session_form),
        )
        .route(&path("/health"), get(|| async { "ok" }))
        .with_state(state))
}
