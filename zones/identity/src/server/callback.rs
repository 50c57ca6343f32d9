//! `GET /auth/callback`: checks the one-time `state` and that it was
//! started by this browser (the login cookie), exchanges the code
//! (with the PKCE verifier), validates the id_token (signature via JWKS,
//! issuer, audience, nonce, expiry), finds or creates the user, starts a
//! fresh session and redirects to the remembered `return_to`.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, header};
use openidconnect::{AuthorizationCode, Nonce, PkceCodeVerifier, TokenResponse as _};
use serde::Deserialize;
use shared_auth::auth::{CurrentSession, found};
use shared_auth::token::{constant_time_eq, hash};

use super::fail;
use super::oidc::{ID_TOKEN_GRANT, LOGIN_GRANT, Oidc, PendingLogin};
use crate::sign_in_failure::SignInFailure;

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn finish(
    State(oidc): State<Oidc>,
    Extension(current): Extension<CurrentSession>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let (pending, bound) = match take_pending(&oidc, &headers, query.state.as_deref()).await {
        Ok(found) => found,
        Err(reason) => return fail(reason),
    };
    let mut response = match sign_in(&oidc, &current, &headers, query, pending).await {
        Ok(response) => response,
        Err(reason) => fail(reason),
    };
    // The login cookie is single-use too, once it has met its state. A
    // callback for some other state (someone else's link, a stale tab)
    // leaves it alone, so it cannot cancel a sign-in in progress.
    if bound {
        response
            .headers_mut()
            .append(header::SET_COOKIE, oidc.auth.cookies().clear_login());
    }
    response
}

/// Consumes the pending login of `state` (whatever happens next, it can
/// never be replayed) and says whether this browser started it: only then
/// is it returned. Login CSRF: someone else's callback link (their state,
/// their code) finds no matching login cookie here and signs no one in.
async fn take_pending(
    oidc: &Oidc,
    headers: &HeaderMap,
    state: Option<&str>,
) -> Result<(Option<PendingLogin>, bool), SignInFailure> {
    let Some(state) = state else {
        return Ok((None, false));
    };
    let pending = oidc
        .auth
        .store()
        .take_grant::<PendingLogin>(LOGIN_GRANT, state)
        .await
        .map_err(|err| {
            tracing::error!("cannot read the login attempt: {err}");
            SignInFailure::Unavailable
        })?;
    let browser = oidc.auth.cookies().login_token(headers).map(hash);
    let bound = pending.as_ref().is_some_and(|pending| {
        browser.is_some_and(|browser| constant_time_eq(&browser, &pending.browser))
    });
    if pending.is_some() && !bound {
        tracing::warn!("refused a callback from a browser that did not start the sign-in");
    }
    Ok((pending.filter(|_| bound), bound))
}

async fn sign_in(
    oidc: &Oidc,
    current: &CurrentSession,
    headers: &HeaderMap,
    query: CallbackQuery,
    pending: Option<PendingLogin>,
) -> Result<Response, SignInFailure> {
    let store = oidc.auth.store();
    if let Some(error) = &query.error {
        // Debug-formatted: a value from the query string never puts a line
        // break (or anything else unescaped) into the log.
        let error: String = error.chars().take(64).collect();
        tracing::info!(error = ?error, "the identity provider refused the sign-in");
        return Err(if error == "access_denied" {
            SignInFailure::Denied
        } else {
            SignInFailure::ProviderError
        });
    }
    let pending = pending.ok_or(SignInFailure::StateMismatch)?;
    let code = query.code.ok_or(SignInFailure::BadCallback)?;

    let metadata = oidc.metadata().await.map_err(|err| {
        tracing::error!("{err:#}");
        SignInFailure::ProviderUnavailable
    })?;
    let algorithms = metadata.id_token_signing_alg_values_supported().clone();
    let client = oidc.client(metadata);
    let exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|err| {
            tracing::error!(error = ?err.to_string(), "the provider has no token endpoint");
            SignInFailure::ProviderError
        })?;
    let tokens = exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&oidc.http)
        .await
        .map_err(|err| {
            // Debug: the provider's answer is quoted, never a raw line break.
            tracing::warn!(error = ?err.to_string(), "code exchange failed");
            SignInFailure::CodeRejected
        })?;
    let id_token = tokens.id_token().ok_or(SignInFailure::InvalidIdToken)?;
    let verifier = client.id_token_verifier().set_allowed_algs(algorithms);
    let claims = match id_token.claims(&verifier, &Nonce::new(pending.nonce)) {
        Ok(claims) => claims,
        Err(err) => {
            tracing::warn!(error = ?err.to_string(), "id_token rejected");
            // A key rotation at the provider shows up as a bad signature.
            oidc.forget_metadata().await;
            return Err(SignInFailure::InvalidIdToken);
        }
    };
    let subject = format!("{}#{}", claims.issuer().as_str(), claims.subject().as_str());
    let username = claims
        .preferred_username()
        .map(|name| name.as_str())
        .unwrap_or_else(|| claims.subject().as_str());
    let username: String = username
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();

    let unavailable = |err: shared_auth::store::StoreError| {
        tracing::error!("sign-in failed in the store: {err}");
        SignInFailure::Unavailable
    };
    let user = store
        .find_or_create_user(&subject, &username)
        .await
        .map_err(unavailable)?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|ua| ua.to_str().ok());
    // No fixation: whatever session the browser had is ended; a new one starts.
    let (session, change) = oidc
        .auth
        .sign_in(current, &user, user_agent)
        .await
        .map_err(unavailable)?;
    // Kept for sign-out's `id_token_hint`, as long as the session may live.
    let id_token = id_token.to_string();
    if let Err(err) = store
        .put_grant(
            ID_TOKEN_GRANT,
            &session.id,
            &id_token,
            oidc.auth.policy().max_age,
        )
        .await
    {
        // Sign-out then goes to the provider without a hint: not fatal.
        tracing::warn!("cannot keep the id_token for sign-out: {err}");
    }
    tracing::info!(user = %user.id, "signed in");
    // The session token rides along; without it (a key the store cannot
    // give) the session cookie alone still signs the user in.
    let change = match oidc.tokens.issue(&user, &session).await {
        Ok(issued) => oidc
            .auth
            .with_session_jwt(change, &issued.jwt, issued.max_age),
        Err(err) => {
            tracing::error!("cannot issue a session token: {err}");
            change
        }
    };
    Ok(change.respond(found(&pending.return_to)))
}
