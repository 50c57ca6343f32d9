//! `POST /auth/logout`: ends the session (the row is deleted, so every zone
//! sees it at once) and clears the cookie. Only same-origin posts count;
//! `GET /auth/logout` is the confirm page (`pages::logout`).

use axum::extract::State;
use axum::response::{Html, IntoResponse as _, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use shared_auth::auth::{Auth, found};
use shared_auth::cookie::token_from_headers;
use shared_auth::origin::is_same_origin;

pub async fn sign_out(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    if !is_same_origin(&headers, &auth.config().public_origin) {
        tracing::warn!("refused a cross-origin sign-out");
        return (
            StatusCode::FORBIDDEN,
            Html("<!DOCTYPE html><title>Refused</title><p>This sign-out request did not come from this site and was refused. <a href=\"/auth/logout\">Sign out here</a>.</p>"),
        )
            .into_response();
    }
    if let Some(token) = token_from_headers(&headers)
        && let Err(err) = auth.store().delete_session_by_token(token).await
    {
        tracing::error!("sign-out failed: {err}");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-out failed; please try again.",
        )
            .into_response();
    }
    let mut response = found("/");
    response
        .headers_mut()
        .append(header::SET_COOKIE, auth.clear_cookie());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
