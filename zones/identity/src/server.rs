//! Identity's server-only routes: the OIDC client (`/auth/login`,
//! `/auth/callback`), sign-out (`POST /auth/logout`), the session-token
//! keys (`/auth/.well-known/jwks.json`) and, for the other zones' servers,
//! token refreshes (`/auth/internal/session-token`) and the revocation log
//! (`/auth/internal/revocations`).

mod callback;
mod config;
mod login;
mod logout;
mod oidc;

use axum::Router;
use axum::routing::{get, post};
use contracts::zone::{AuthPath, REVOCATIONS_PATH, SESSION_JWKS_PATH, SESSION_TOKEN_REFRESH_PATH};
use shared_auth::auth::Auth;
use shared_auth::{identity_feed, token_issuer};
use zone_runtime::server::ZoneRoutes;

pub use config::IdentityConfig;
pub use oidc::{ID_TOKEN_GRANT, forget_id_tokens};

/// The routes identity adds to the zone runtime's router, and its signer.
pub fn routes(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<ZoneRoutes> {
    let oidc = oidc::Oidc::new(config, auth)?;
    let issuer = oidc.tokens.clone();
    let routes = Router::new()
        .route(AuthPath::Login.path(), get(login::start))
        .route(AuthPath::Callback.path(), get(callback::finish))
        .route(AuthPath::Logout.path(), post(logout::sign_out))
        .with_state(oidc)
        .merge(
            Router::new()
                .route(SESSION_JWKS_PATH, get(token_issuer::jwks_route))
                .with_state(issuer.clone()),
        );
    let internal = Router::new()
        .route(
            SESSION_TOKEN_REFRESH_PATH,
            post(token_issuer::refresh_route),
        )
        .with_state(issuer.clone())
        .merge(
            Router::new()
                .route(REVOCATIONS_PATH, get(identity_feed::revocations_route))
                .with_state(auth.clone()),
        );
    Ok(ZoneRoutes {
        routes,
        internal,
        issuer: Some(issuer),
    })
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
