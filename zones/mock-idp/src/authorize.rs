//! `GET /mock-idp/authorize` shows the sign-in form; `POST` issues a
//! one-time authorization code bound to the client, the redirect URI, the
//! PKCE challenge and the nonce, and sends the browser back. Every value it
//! keeps in a grant or sends back is bounded in length, so the grant map is
//! bounded in bytes as well as in entries.

use std::ops::RangeInclusive;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use contracts::zone::MOCK_IDP_PREFIX;
use http::StatusCode;
use serde::Deserialize;

use crate::page::{escape, found, page, with_query};
use crate::{MockIdp, RegisteredClient};

/// Longest `nonce` (bytes): kept in the grant, put in the id_token.
const MAX_NONCE: usize = 256;
/// Longest `state` (bytes): sent back to the client.
const MAX_STATE: usize = 512;
/// Longest `redirect_uri` and `scope` (bytes).
const MAX_URI_OR_SCOPE: usize = 2048;
/// RFC 7636 §4.2: a `code_challenge` is 43 to 128 base64url characters.
const CHALLENGE_LEN: RangeInclusive<usize> = 43..=128;

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
    match refusal(&idp.client, &request) {
        Some(response) => response,
        None => form_page(&request, None, StatusCode::OK),
    }
}

pub async fn submit(State(idp): State<MockIdp>, Form(request): Form<AuthorizeRequest>) -> Response {
    if let Some(response) = refusal(&idp.client, &request) {
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
fn refusal(client: &RegisteredClient, request: &AuthorizeRequest) -> Option<Response> {
    if request.client_id != client.id
        || request.redirect_uri.len() > MAX_URI_OR_SCOPE
        || request.redirect_uri != client.redirect_uri
    {
        return Some(page(
            StatusCode::BAD_REQUEST,
            "Unknown application",
            "<p>The application or its return address is not registered with this provider.</p>",
        ));
    }
    let problem = if request.response_type != "code" {
        Some("unsupported_response_type")
    } else if request.nonce.len() > MAX_NONCE
        || request.state.len() > MAX_STATE
        || request.scope.len() > MAX_URI_OR_SCOPE
    {
        Some("invalid_request")
    } else if !request.scope.split(' ').any(|s| s == "openid") {
        Some("invalid_scope")
    } else if !is_code_challenge(&request.code_challenge) || request.code_challenge_method != "S256"
    {
        Some("invalid_request")
    } else {
        None
    };
    problem.map(|error| back(request, &[("error", error)]))
}

/// 43 to 128 characters of the base64url alphabet, without padding.
fn is_code_challenge(challenge: &str) -> bool {
    CHALLENGE_LEN.contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
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

/// 302 to the (registered) redirect URI with `params` and the client's
/// state (unless it is too long to send back).
fn back(request: &AuthorizeRequest, params: &[(&str, &str)]) -> Response {
    let mut params = params.to_vec();
    if !request.state.is_empty() && request.state.len() <= MAX_STATE {
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

    const CALLBACK: &str = "http://localhost:8080/auth/callback";

    fn client() -> RegisteredClient {
        RegisteredClient {
            id: "meridian".into(),
            secret: "s3cret".into(),
            redirect_uri: CALLBACK.into(),
            post_logout_redirect_uri: "http://localhost:8080/auth/signed-out".into(),
        }
    }

    fn valid() -> AuthorizeRequest {
        AuthorizeRequest {
            response_type: "code".into(),
            client_id: "meridian".into(),
            redirect_uri: CALLBACK.into(),
            scope: "openid profile".into(),
            state: "st4te".into(),
            nonce: "n0nce".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            code_challenge_method: "S256".into(),
            ..AuthorizeRequest::default()
        }
    }

    /// The query the refusal sends back to the client, or `None` when the
    /// request passes; panics when the refusal is not a redirect.
    fn sent_back(request: &AuthorizeRequest) -> Option<Vec<(String, String)>> {
        let response = refusal(&client(), request)?;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()[http::header::LOCATION].to_str().unwrap();
        let query = location.strip_prefix(&format!("{CALLBACK}?")).unwrap();
        Some(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    #[test]
    fn values_at_their_limits_pass() {
        assert!(sent_back(&valid()).is_none());
        let at_limits = AuthorizeRequest {
            nonce: "n".repeat(MAX_NONCE),
            state: "s".repeat(MAX_STATE),
            scope: format!("openid {}", "x".repeat(MAX_URI_OR_SCOPE - 7)),
            code_challenge: "A-_z".repeat(32),
            ..valid()
        };
        assert!(sent_back(&at_limits).is_none());
    }

    #[test]
    fn values_past_their_limits_are_invalid_requests() {
        let long_state = "s".repeat(MAX_STATE + 1);
        type Change = fn(&mut AuthorizeRequest);
        let cases: [(&str, Change); 7] = [
            ("nonce", |r| r.nonce = "n".repeat(MAX_NONCE + 1)),
            ("state", |r| r.state = "s".repeat(MAX_STATE + 1)),
            ("scope", |r| {
                r.scope = format!("openid {}", "x".repeat(MAX_URI_OR_SCOPE))
            }),
            ("long challenge", |r| r.code_challenge = "a".repeat(129)),
            ("short challenge", |r| r.code_challenge = "a".repeat(42)),
            ("padded challenge", |r| {
                r.code_challenge = format!("{}=", "a".repeat(43))
            }),
            ("base64 challenge", |r| {
                r.code_challenge = format!("{}+/", "a".repeat(43))
            }),
        ];
        for (what, change) in cases {
            let mut request = valid();
            change(&mut request);
            let query = sent_back(&request).unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(
                query.contains(&("error".into(), "invalid_request".into())),
                "{what}: {query:?}"
            );
            // The state goes back with the error, unless it is the problem.
            let state = query.iter().find(|(k, _)| k == "state").map(|(_, v)| v);
            if request.state == long_state {
                assert_eq!(state, None, "{what}");
            } else {
                assert_eq!(state.map(String::as_str), Some("st4te"), "{what}");
            }
        }
    }

    #[test]
    fn an_overlong_redirect_uri_is_never_redirected_to() {
        let request = AuthorizeRequest {
            redirect_uri: format!("{CALLBACK}?{}", "x".repeat(MAX_URI_OR_SCOPE)),
            ..valid()
        };
        let response = refusal(&client(), &request).unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(!response.headers().contains_key(http::header::LOCATION));
    }

    #[test]
    fn usernames_are_checked() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("a.b-c_d9").is_ok());
        for bad in ["", "a b", "<script>", "ä", "a\r\nb", &"x".repeat(33)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }
}
