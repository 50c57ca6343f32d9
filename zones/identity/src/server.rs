//! Identity's server-only routes: the OIDC client (`/auth/login`,
//! `/auth/callback`), sign-out (`POST /auth/logout`) and the session-token
//! keys (`/auth/.well-known/jwks.json`).

mod callback;
mod config;
mod login;
mod logout;
mod oidc;
mod session_keys;

use axum::Router;
use axum::routing::{get, post};
use contracts::zone::{AuthPath, SESSION_JWKS_PATH};
use shared_auth::auth::Auth;

pub use config::IdentityConfig;
pub use oidc::{ID_TOKEN_GRANT, forget_id_tokens};

/// The routes identity adds to the zone runtime's router.
pub fn routes(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<Router> {
    let oidc = oidc::Oidc::new(config, auth)?;
    let keys = oidc.keys.clone();
    let router = Router::new()
        .route(AuthPath::Login.path(), get(login::start))
        .route(AuthPath::Callback.path(), get(callback::finish))
        .route(AuthPath::Logout.path(), post(logout::sign_out))
        .with_state(oidc)
        .merge(
            Router::new()
                .route(SESSION_JWKS_PATH, get(session_keys::jwks))
                .with_state(keys),
        );
    Ok(router)
}

/// Where every sign-in failure lands: `/auth/error?reason=<code>` renders
/// a helpful page (see `pages::error`) with a 400 status.
pub(crate) fn fail(reason: crate::sign_in_failure::SignInFailure) -> axum::response::Response {
    shared_auth::auth::found(&format!(
        "{}?reason={}",
        AuthPath::Error.path(),
        reason.code()
    ))
}
