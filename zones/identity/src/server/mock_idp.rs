//! A mock OpenID provider at `/mock-idp`: enough OIDC for a real client
//! library (discovery, authorize with PKCE S256, one-time codes, an
//! id_token signed with an Ed25519 key published as JWKS, userinfo).
//! Any username signs in. It stands in for Okta/Entra ID/Keycloak; turn it
//! off with `MOCK_IDP=false` when a real provider is configured.

mod authorize;
mod discovery;
mod keys;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use openidconnect::core::CoreEdDsaPrivateSigningKey;
use shared_auth::auth::Auth;

use super::IdentityConfig;

/// Grant kinds in the shared store.
const CODE_GRANT: &str = "mock-idp-code";
const ACCESS_GRANT: &str = "mock-idp-access";
/// Authorization codes are short-lived and single-use.
const CODE_TTL: Duration = Duration::from_secs(60);
/// Access and id tokens live five minutes.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// The one client the mock provider knows.
#[derive(Clone, Debug)]
struct RegisteredClient {
    id: String,
    secret: String,
    redirect_uri: String,
}

#[derive(Clone)]
struct MockIdp {
    auth: Auth,
    issuer: String,
    client: RegisteredClient,
    key: Arc<CoreEdDsaPrivateSigningKey>,
}

impl MockIdp {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

pub fn routes(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<Router> {
    let public = &auth.config().public_origin;
    let state = MockIdp {
        auth: auth.clone(),
        issuer: format!("{public}/mock-idp"),
        client: RegisteredClient {
            id: config.oidc_client_id.clone(),
            secret: config.oidc_client_secret.clone(),
            redirect_uri: format!("{public}/auth/callback"),
        },
        key: Arc::new(keys::load_or_create(&config.mock_idp_key_file)?),
    };
    Ok(Router::new()
        .route(
            "/mock-idp/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/mock-idp/jwks", get(discovery::jwks))
        .route(
            "/mock-idp/authorize",
            get(authorize::form).post(authorize::submit),
        )
        .route("/mock-idp/token", post(token::exchange))
        .route("/mock-idp/userinfo", get(token::userinfo))
        .with_state(state))
}

/// Minimal HTML escaping for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
