//! `POST /auth/logout`: ends the session (the row is deleted, so every zone
//! sees it at once), clears the cookie, and when the provider supports
//! RP-initiated logout (`end_session_endpoint` in its discovery document)
//! sends the browser there too, so the provider's own single sign-on ends
//! as well and the next "Sign in" asks who you are. The provider sends the
//! browser back to `/auth/signed-out`. Cross-site posts never get here
//! (`shared_auth::guard::refuse_cross_site`); `GET /auth/logout` is the
//! confirm page (`pages::logout`).

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use contracts::zone::AuthPath;
use http::{HeaderMap, StatusCode};
use openidconnect::core::CoreIdToken;
use openidconnect::{LogoutRequest, PostLogoutRedirectUrl};
use shared_auth::auth::{CurrentSession, found, found_external};

use super::oidc::{ID_TOKEN_GRANT, Oidc};

pub async fn sign_out(
    State(oidc): State<Oidc>,
    Extension(current): Extension<CurrentSession>,
    headers: HeaderMap,
) -> Response {
    let auth = &oidc.auth;
    let id_token = match current.session_id() {
        Some(id) => auth
            .store()
            .take_grant::<String>(ID_TOKEN_GRANT, id)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!("cannot read the id_token for sign-out: {err}");
                None
            }),
        None => None,
    };
    let change = match auth.sign_out(&current, &headers).await {
        Ok(change) => change,
        Err(err) => {
            tracing::error!("sign-out failed: {err}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-out failed; please try again.",
            )
                .into_response();
        }
    };
    change.respond(match provider_logout(&oidc, id_token.as_deref()).await {
        Some(url) => found_external(&url),
        None => found("/"),
    })
}

/// The provider's end-session URL for this sign-out, if it has one:
/// `id_token_hint` (when the session kept one), `client_id` and
/// `post_logout_redirect_uri` = `<PUBLIC_ORIGIN>/auth/signed-out`.
async fn provider_logout(oidc: &Oidc, id_token: Option<&str>) -> Option<String> {
    let metadata = match oidc.metadata().await {
        Ok(metadata) => metadata,
        Err(err) => {
            // The local session is gone either way; say so and go home.
            tracing::warn!("no provider sign-out: {err:#}");
            return None;
        }
    };
    let endpoint = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()?;
    let back =
        PostLogoutRedirectUrl::new(oidc.auth.config().url(AuthPath::SignedOut.path())).ok()?;
    let mut request = LogoutRequest::from(endpoint)
        .set_client_id(oidc.client_id().clone())
        .set_post_logout_redirect_uri(back);
    if let Some(token) = id_token.and_then(|t| t.parse::<CoreIdToken>().ok()) {
        request = request.set_id_token_hint(&token);
    }
    Some(request.http_get_url().to_string())
}
