//! `GET /auth/login?return_to=…`: starts the authorization-code flow with a
//! one-time `state`, a `nonce` and PKCE S256, and binds the attempt to this
//! browser with a short-lived login cookie (only its hash is stored with the
//! state), so a callback link made in another browser signs no one in.

use axum::extract::{Query, State};
use axum::response::Response;
use http::header;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};
use serde::Deserialize;
use shared_auth::auth::found_external;
use shared_auth::return_to::return_to_or_home;
use shared_auth::token::{hash, random_token};

use super::fail;
use super::oidc::{LOGIN_GRANT, LOGIN_TTL, Oidc, PendingLogin};
use crate::sign_in_failure::SignInFailure;

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
            return fail(SignInFailure::ProviderUnavailable);
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
    let browser = random_token(32);
    let pending = PendingLogin {
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        return_to,
        browser: hash(&browser),
    };
    if let Err(err) = oidc
        .auth
        .store()
        .put_grant(LOGIN_GRANT, state.secret(), &pending, LOGIN_TTL)
        .await
    {
        tracing::error!("cannot store the login attempt: {err}");
        return fail(SignInFailure::Unavailable);
    }
    let mut response = found_external(url.as_str());
    let cookie = oidc
        .auth
        .cookies()
        .login(&browser, LOGIN_TTL.as_secs() as i64);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}
