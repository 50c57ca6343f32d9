//! Identity's server-only routes: the OIDC client (`/auth/login`,
//! `/auth/callback`) and sign-out (`POST /auth/logout`).

mod callback;
mod config;
mod login;
mod logout;
mod oidc;

use axum::Router;
use axum::routing::{get, post};
use contracts::zone::AuthPath;
use shared_auth::auth::Auth;

pub use config::IdentityConfig;
pub use oidc::{ID_TOKEN_GRANT, forget_id_tokens};

/// The routes identity adds to the zone runtime's router.
pub fn routes(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<Router> {
    let oidc = oidc::Oidc::new(config, auth)?;
    let router = Router::new()
        .route(AuthPath::Login.path(), get(login::start))
        .route(AuthPath::Callback.path(), get(callback::finish))
        .route(AuthPath::Logout.path(), post(logout::sign_out))
        .with_state(oidc);
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
