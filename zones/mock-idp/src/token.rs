//! `POST /mock-idp/token` (authorization code → tokens) and
//! `GET /mock-idp/userinfo`.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenFields, CoreJwsSigningAlgorithm, CoreTokenResponse,
    CoreTokenType,
};
use openidconnect::{
    AccessToken, Audience, EmptyAdditionalClaims, EmptyExtraTokenFields, EndUserName,
    EndUserUsername, IssuerUrl, Nonce, StandardClaims, SubjectIdentifier,
};
use serde::Deserialize;

use crate::MockIdp;
use crate::grants::GrantError;
use shared_auth::token::{constant_time_eq, pkce_challenge};

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Who an access token stands for, until it expires.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    subject: String,
    username: String,
}

pub async fn exchange(
    State(idp): State<MockIdp>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    match issue(&idp, &headers, request) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn issue(
    idp: &MockIdp,
    headers: &HeaderMap,
    request: TokenRequest,
) -> Result<Response, OAuthError> {
    if request.grant_type.as_deref() != Some("authorization_code") {
        return Err(OAuthError::bad(
            "unsupported_grant_type",
            "only authorization_code is supported",
        ));
    }
    let (client_id, client_secret) = client_credentials(headers, &request)
        .ok_or(OAuthError::client("client authentication is required"))?;
    // Both compared in full (no early return between them), the secret in
    // constant time.
    let known_id = client_id == idp.client.id;
    let right_secret = constant_time_eq(&client_secret, &idp.client.secret);
    if !(known_id & right_secret) {
        tracing::warn!(client_id = ?client_id, "mock IdP: client authentication failed");
        return Err(OAuthError::client("unknown client or wrong secret"));
    }
    let code = request
        .code
        .ok_or(OAuthError::bad("invalid_request", "code is missing"))?;
    // Redeeming removes the code: a replay finds nothing.
    let grant = idp.codes.take(&code).ok_or(OAuthError::grant(
        "the code is invalid, expired or already used",
    ))?;
    if grant.client_id != client_id {
        return Err(OAuthError::grant("the code was issued to another client"));
    }
    if request.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(OAuthError::grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let verifier = request.code_verifier.ok_or(OAuthError::bad(
        "invalid_request",
        "code_verifier is missing",
    ))?;
    if !constant_time_eq(&pkce_challenge(&verifier), &grant.code_challenge) {
        return Err(OAuthError::grant(
            "code_verifier does not match the code challenge",
        ));
    }

    let subject = grant.username.clone();
    let access = idp
        .access_tokens
        .put(AccessGrant {
            subject: subject.clone(),
            username: grant.username.clone(),
        })
        .map_err(|err| OAuthError::unavailable(&err))?;
    let now = Utc::now();
    let lifetime = idp.access_tokens.ttl();
    let ttl = chrono::Duration::from_std(lifetime).map_err(|e| OAuthError::internal(&e))?;
    let issuer = IssuerUrl::new(idp.issuer.clone()).map_err(|e| OAuthError::internal(&e))?;
    let claims = CoreIdTokenClaims::new(
        issuer,
        vec![Audience::new(client_id)],
        now + ttl,
        now,
        StandardClaims::new(SubjectIdentifier::new(subject))
            .set_preferred_username(Some(EndUserUsername::new(grant.username.clone())))
            .set_name(Some(EndUserName::new(grant.username).into())),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(grant.nonce)));
    let access_token = AccessToken::new(access);
    let id_token = CoreIdToken::new(
        claims,
        idp.key.as_ref(),
        CoreJwsSigningAlgorithm::EdDsa,
        Some(&access_token),
        None,
    )
    .map_err(|e| OAuthError::internal(&e))?;
    let mut body = CoreTokenResponse::new(
        access_token,
        CoreTokenType::Bearer,
        CoreIdTokenFields::new(Some(id_token), EmptyExtraTokenFields {}),
    );
    body.set_expires_in(Some(&lifetime));
    Ok(no_store(Json(body).into_response()))
}

pub async fn userinfo(State(idp): State<MockIdp>, headers: HeaderMap) -> Response {
    let grant = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| idp.access_tokens.peek(token.trim()));
    match grant {
        Some(grant) => no_store(
            Json(serde_json::json!({
                "sub": grant.subject,
                "preferred_username": grant.username,
                "name": grant.username,
            }))
            .into_response(),
        ),
        None => no_store(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
                Json(serde_json::json!({ "error": "invalid_token" })),
            )
                .into_response(),
        ),
    }
}

/// Client id and secret from HTTP Basic (form-encoded, RFC 6749 §2.3.1)
/// or from the form body.
fn client_credentials(headers: &HeaderMap, request: &TokenRequest) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some((form_decode(id), form_decode(secret)));
    }
    Some((request.client_id.clone()?, request.client_secret.clone()?))
}

fn form_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An OAuth error response (RFC 6749 §5.2).
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn bad(error: &'static str, description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    fn grant(description: &str) -> Self {
        Self::bad("invalid_grant", description)
    }

    fn client(description: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
        }
    }

    fn unavailable(err: &GrantError) -> Self {
        tracing::warn!("mock IdP cannot issue an access token: {err}");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "try again later".into(),
        }
    }

    fn internal(err: &dyn std::fmt::Display) -> Self {
        tracing::error!("mock IdP failure: {err}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "internal error".into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body =
            Json(serde_json::json!({ "error": self.error, "error_description": self.description }));
        let mut response = no_store((self.status, body).into_response());
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("my%20app:s%3Acret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        assert_eq!(
            client_credentials(&headers, &TokenRequest::default()),
            Some(("my app".into(), "s:cret".into()))
        );
    }

    #[test]
    fn form_credentials_are_used_without_basic() {
        let request = TokenRequest {
            client_id: Some("meridian".into()),
            client_secret: Some("s".into()),
            ..TokenRequest::default()
        };
        assert_eq!(
            client_credentials(&HeaderMap::new(), &request),
            Some(("meridian".into(), "s".into()))
        );
        assert_eq!(
            client_credentials(&HeaderMap::new(), &TokenRequest::default()),
            None
        );
    }
}
