//! Identity's server-only routes: the OIDC client (`/auth/login`,
//! `/auth/callback`), sign-out (`POST /auth/logout`) and the mock identity
//! provider (`/mock-idp/*`).

mod callback;
mod config;
mod login;
mod logout;
mod mock_idp;
mod oidc;

use axum::Router;
use axum::routing::{get, post};
use shared_auth::auth::Auth;

pub use config::IdentityConfig;

/// The routes identity adds to the zone runtime's router.
pub fn routes(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<Router> {
    let oidc = oidc::Oidc::new(config, auth)?;
    let mut router = Router::new()
        .route("/auth/login", get(login::start))
        .route("/auth/callback", get(callback::finish))
        .with_state(oidc)
        .merge(
            Router::new()
                .route("/auth/logout", post(logout::sign_out))
                .with_state(auth.clone()),
        );
    if config.mock_idp {
        router = router.merge(mock_idp::routes(config, auth)?);
    }
    Ok(router)
}

/// Where every sign-in failure lands: `/auth/error?reason=<code>` renders
/// a helpful page (see `pages::error`) with a 400 status.
pub(crate) fn fail(reason: crate::pages::error::Reason) -> axum::response::Response {
    shared_auth::auth::found(&format!("/auth/error?reason={}", reason.code()))
}
