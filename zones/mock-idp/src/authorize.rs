//! `GET /mock-idp/authorize` shows the sign-in form; `POST` issues a
//! one-time authorization code bound to the client, the redirect URI, the
//! PKCE challenge and the nonce, and sends the browser back.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use shared_auth::zone::MOCK_IDP_PREFIX;

use crate::MockIdp;
use crate::page::{escape, found, page, with_query};

/// The authorization request, as query (GET) or form (POST, plus the
/// username or a cancel).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeRequest {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
    username: Option<String>,
    cancel: Option<String>,
}

/// What a code stands for, until the token endpoint redeems it.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: String,
    pub username: String,
}

pub async fn form(State(idp): State<MockIdp>, Query(request): Query<AuthorizeRequest>) -> Response {
    match refusal(&idp, &request) {
        Some(response) => response,
        None => form_page(&request, None, StatusCode::OK),
    }
}

pub async fn submit(State(idp): State<MockIdp>, Form(request): Form<AuthorizeRequest>) -> Response {
    if let Some(response) = refusal(&idp, &request) {
        return response;
    }
    if request.cancel.is_some() {
        return back(&request, &[("error", "access_denied")]);
    }
    let username = request.username.as_deref().unwrap_or("").trim();
    if let Err(problem) = check_username(username) {
        return form_page(&request, Some(problem), StatusCode::BAD_REQUEST);
    }
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        username: username.to_owned(),
    };
    match idp.codes.put(grant) {
        Ok(code) => {
            tracing::info!(username, "mock IdP: signed in, code issued");
            back(&request, &[("code", &code)])
        }
        Err(err) => {
            tracing::warn!("mock IdP cannot issue a code: {err}");
            back(&request, &[("error", "temporarily_unavailable")])
        }
    }
}

/// The response refusing an invalid request, if it is one. The client and
/// redirect URI are checked first (a mismatch is shown here, never
/// redirected to), then the rest (reported to the client).
fn refusal(idp: &MockIdp, request: &AuthorizeRequest) -> Option<Response> {
    if request.client_id != idp.client.id || request.redirect_uri != idp.client.redirect_uri {
        return Some(page(
            StatusCode::BAD_REQUEST,
            "Unknown application",
            "<p>The application or its return address is not registered with this provider.</p>",
        ));
    }
    let problem = if request.response_type != "code" {
        Some("unsupported_response_type")
    } else if !request.scope.split(' ').any(|s| s == "openid") {
        Some("invalid_scope")
    } else if request.code_challenge.len() < 43 || request.code_challenge_method != "S256" {
        Some("invalid_request")
    } else {
        None
    };
    problem.map(|error| back(request, &[("error", error)]))
}

fn check_username(username: &str) -> Result<(), &'static str> {
    if username.is_empty() || username.len() > 32 {
        return Err("Enter a username of 1 to 32 characters.");
    }
    if !username
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("Use letters, digits, dots, dashes and underscores only.");
    }
    Ok(())
}

/// 302 to the (registered) redirect URI with `params` and the client's state.
fn back(request: &AuthorizeRequest, params: &[(&str, &str)]) -> Response {
    let mut params = params.to_vec();
    if !request.state.is_empty() {
        params.push(("state", &request.state));
    }
    found(&with_query(&request.redirect_uri, &params))
}

fn form_page(request: &AuthorizeRequest, problem: Option<&str>, status: StatusCode) -> Response {
    let hidden: String = [
        ("response_type", &request.response_type),
        ("client_id", &request.client_id),
        ("redirect_uri", &request.redirect_uri),
        ("scope", &request.scope),
        ("state", &request.state),
        ("nonce", &request.nonce),
        ("code_challenge", &request.code_challenge),
        ("code_challenge_method", &request.code_challenge_method),
    ]
    .iter()
    .map(|(name, value)| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    })
    .collect();
    let problem = problem
        .map(|p| format!("<p class=\"form-error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let value = escape(request.username.as_deref().unwrap_or(""));
    let body = format!(
        "<p class=\"lead\">Mock identity provider for development: any username signs in. \
         A real deployment points identity at Okta, Entra ID or Keycloak instead.</p>{problem}\
         <form method=\"post\" action=\"{MOCK_IDP_PREFIX}/authorize\" class=\"idp-form\">{hidden}\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" value=\"{value}\" autocomplete=\"username\" \
         required maxlength=\"32\" pattern=\"[A-Za-z0-9._\\-]+\" autofocus>\
         <div class=\"idp-form__actions\"><button type=\"submit\" class=\"button\">Sign in</button>\
         <button type=\"submit\" name=\"cancel\" value=\"1\" class=\"button button--ghost\" \
         formnovalidate>Cancel</button></div></form>"
    );
    page(status, "Sign in to Meridian ID", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("a.b-c_d9").is_ok());
        for bad in ["", "a b", "<script>", "ä", "a\r\nb", &"x".repeat(33)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }
}
