//! `POST /mock-idp/token` (authorization code → tokens) and
//! `GET /mock-idp/userinfo`.

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
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
use serde::{Deserialize, Serialize};
use shared_auth::token::{pkce_challenge, random_token};

use super::authorize::CodeGrant;
use super::{ACCESS_GRANT, CODE_GRANT, MockIdp, TOKEN_TTL};

#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessGrant {
    subject: String,
    username: String,
}

pub async fn exchange(
    State(idp): State<MockIdp>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    match issue(&idp, &headers, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn issue(
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
    if client_id != idp.client.id || client_secret != idp.client.secret {
        return Err(OAuthError::client("unknown client or wrong secret"));
    }
    let code = request
        .code
        .ok_or(OAuthError::bad("invalid_request", "code is missing"))?;
    // Redeeming deletes the code: a replay finds nothing.
    let grant: CodeGrant = idp
        .auth
        .store()
        .take_grant(CODE_GRANT, &code)
        .await
        .map_err(|err| OAuthError::unavailable(&err))?
        .ok_or(OAuthError::grant(
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
    if pkce_challenge(&verifier) != grant.code_challenge {
        return Err(OAuthError::grant(
            "code_verifier does not match the code challenge",
        ));
    }

    let access = random_token(32);
    let subject = grant.username.clone();
    let access_grant = AccessGrant {
        subject: subject.clone(),
        username: grant.username.clone(),
    };
    idp.auth
        .store()
        .put_grant(ACCESS_GRANT, &access, &access_grant, TOKEN_TTL)
        .await
        .map_err(|err| OAuthError::unavailable(&err))?;
    let now = Utc::now();
    let issuer = IssuerUrl::new(idp.issuer.clone()).map_err(|e| OAuthError::internal(&e))?;
    let claims = CoreIdTokenClaims::new(
        issuer,
        vec![Audience::new(client_id)],
        now + chrono::Duration::seconds(TOKEN_TTL.as_secs() as i64),
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
    body.set_expires_in(Some(&TOKEN_TTL));
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn userinfo(State(idp): State<MockIdp>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let grant = match token {
        Some(token) => {
            idp.auth
                .store()
                .peek_grant::<AccessGrant>(ACCESS_GRANT, token)
                .await
        }
        None => Ok(None),
    };
    match grant {
        Ok(Some(grant)) => Json(serde_json::json!({
            "sub": grant.subject,
            "preferred_username": grant.username,
            "name": grant.username,
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            Json(serde_json::json!({ "error": "invalid_token" })),
        )
            .into_response(),
        Err(err) => OAuthError::unavailable(&err).into_response(),
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

/// An OAuth error response (RFC 6749 §5.2).
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
    fn unavailable(err: &dyn std::fmt::Display) -> Self {
        tracing::error!("mock IdP store failure: {err}");
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

impl axum::response::IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body =
            Json(serde_json::json!({ "error": self.error, "error_description": self.description }));
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
        let request = TokenRequest {
            grant_type: None,
            code: None,
            redirect_uri: None,
            code_verifier: None,
            client_id: None,
            client_secret: None,
        };
        assert_eq!(
            client_credentials(&headers, &request),
            Some(("my app".into(), "s:cret".into()))
        );
    }
}
