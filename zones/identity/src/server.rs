//! Identity's server-only routes: the OIDC client (`/auth/login`,
//! `/auth/callback`) and sign-out (`POST /auth/logout`).

mod callback;
mod config;
mod login;
mod logout;
mod oidc;

use axum::Router;
use axum::routing::{get, post};
use shared_auth::auth::Auth;

pub use config::IdentityConfig;
pub use logout::SIGNED_OUT_PATH;

/// The routes identity adds to the zone runtime's router.
pub fn routes(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<Router> {
    let oidc = oidc::Oidc::new(config, auth)?;
    let router = Router::new()
        .route("/auth/login", get(login::start))
        .route("/auth/callback", get(callback::finish))
        .route("/auth/logout", post(logout::sign_out))
        .with_state(oidc);
    Ok(router)
}

/// Where every sign-in failure lands: `/auth/error?reason=<code>` renders
/// a helpful page (see `pages::error`) with a 400 status.
pub(crate) fn fail(reason: crate::pages::error::Reason) -> axum::response::Response {
    shared_auth::auth::found(&format!("/auth/error?reason={}", reason.code()))
}
