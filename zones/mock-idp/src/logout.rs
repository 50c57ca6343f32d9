//! `GET` / `POST /mock-idp/logout`: RP-initiated logout (OpenID Connect
//! RP-Initiated Logout 1.0). The mock keeps no sign-in session of its own,
//! so there is nothing to end here; what matters is that the request is
//! checked the way a real provider checks it, and the browser is sent back
//! only to the registered post-logout URI.

use std::str::FromStr as _;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::StatusCode;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, IssuerUrl, Nonce, PrivateSigningKey as _};
use serde::Deserialize;

use crate::MockIdp;
use crate::page::{found, page, with_query};

#[derive(Debug, Default, Deserialize)]
pub struct LogoutRequest {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

pub async fn end_session(
    State(idp): State<MockIdp>,
    Query(request): Query<LogoutRequest>,
) -> Response {
    answer(&idp, &request)
}

pub async fn end_session_form(
    State(idp): State<MockIdp>,
    Form(request): Form<LogoutRequest>,
) -> Response {
    answer(&idp, &request)
}

/// Why a logout request is refused (shown on a 400 page, never redirected).
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    UnknownClient,
    InvalidHint,
    UnregisteredUri,
    NoClient,
}

impl Refusal {
    fn explain(&self) -> &'static str {
        match self {
            Refusal::UnknownClient => "The application is not registered with this provider.",
            Refusal::InvalidHint => "The sign-in this request refers to was not issued here.",
            Refusal::UnregisteredUri => {
                "The address to return to after signing out is not registered with this provider."
            }
            Refusal::NoClient => "The request does not say which application it comes from.",
        }
    }
}

fn answer(idp: &MockIdp, request: &LogoutRequest) -> Response {
    match check(idp, request) {
        Err(refusal) => {
            tracing::warn!(?refusal, "mock IdP: logout request refused");
            page(
                StatusCode::BAD_REQUEST,
                "Sign-out refused",
                &format!("<p>{}</p>", refusal.explain()),
            )
        }
        Ok(Some(uri)) => {
            let state: Vec<(&str, &str)> = request
                .state
                .as_deref()
                .map(|state| ("state", state))
                .into_iter()
                .collect();
            found(&with_query(uri, &state))
        }
        Ok(None) => page(
            StatusCode::OK,
            "Signed out",
            "<p>You are signed out of Meridian ID. You can close this page.</p>",
        ),
    }
}

/// Where to send the browser (the registered post-logout URI), or `None`
/// for the provider's own "signed out" page.
fn check<'a>(idp: &'a MockIdp, request: &LogoutRequest) -> Result<Option<&'a str>, Refusal> {
    let non_empty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    if non_empty(&request.client_id).is_some_and(|id| id != idp.client.id) {
        return Err(Refusal::UnknownClient);
    }
    let hint = non_empty(&request.id_token_hint);
    if let Some(hint) = &hint
        && !issued_here(idp, hint)
    {
        return Err(Refusal::InvalidHint);
    }
    let Some(uri) = non_empty(&request.post_logout_redirect_uri) else {
        return Ok(None);
    };
    if uri != idp.client.post_logout_redirect_uri {
        return Err(Refusal::UnregisteredUri);
    }
    // §2: with a post-logout URI, the client must be identified.
    if hint.is_none() && non_empty(&request.client_id).is_none() {
        return Err(Refusal::NoClient);
    }
    Ok(Some(&idp.client.post_logout_redirect_uri))
}

/// Whether `hint` is an id_token this provider signed for its client. An
/// expired one is fine (§2: the hint may have expired when the user signs
/// out), so the clock is not checked.
fn issued_here(idp: &MockIdp, hint: &str) -> bool {
    let Ok(token) = CoreIdToken::from_str(hint) else {
        return false;
    };
    let Ok(issuer) = IssuerUrl::new(idp.issuer.clone()) else {
        return false;
    };
    let keys = CoreJsonWebKeySet::new(vec![idp.key.as_verification_key()]);
    let verifier =
        CoreIdTokenVerifier::new_public_client(ClientId::new(idp.client.id.clone()), issuer, keys)
            .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa])
            .set_time_fn(|| DateTime::<Utc>::UNIX_EPOCH);
    token.claims(&verifier, |_: Option<&Nonce>| Ok(())).is_ok()
}
