//! `GET /auth/login?return_to=…`: starts the authorization-code flow with a
//! one-time `state`, a `nonce` and PKCE S256.

use axum::extract::{Query, State};
use axum::response::Response;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};
use serde::Deserialize;
use shared_auth::auth::found;
use shared_auth::return_to::return_to_or_home;

use super::fail;
use super::oidc::{LOGIN_GRANT, LOGIN_TTL, Oidc, PendingLogin};
use crate::pages::error::Reason;

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

pub async fn start(State(oidc): State<Oidc>, Query(query): Query<LoginQuery>) -> Response {
    let return_to = return_to_or_home(query.return_to.as_deref());
    let metadata = match oidc.metadata().await {
        Ok(metadata) => metadata,
        Err(err) => {
            tracing::error!("{err:#}");
            return fail(Reason::ProviderUnavailable);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = oidc
        .client(metadata)
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = PendingLogin {
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        return_to,
    };
    if let Err(err) = oidc
        .auth
        .store()
        .put_grant(LOGIN_GRANT, state.secret(), &pending, LOGIN_TTL)
        .await
    {
        tracing::error!("cannot store the login attempt: {err}");
        return fail(Reason::Unavailable);
    }
    found(url.as_str())
}
