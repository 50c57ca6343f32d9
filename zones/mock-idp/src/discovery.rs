//! `/.well-known/openid-configuration` (with RP-initiated logout's
//! `end_session_endpoint`) and `/jwks`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use http::StatusCode;
use openidconnect::core::{
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AuthUrl, EmptyAdditionalProviderMetadata, EndSessionUrl, IssuerUrl, JsonWebKeySetUrl,
    LogoutProviderMetadata, PrivateSigningKey as _, ProviderMetadataWithLogout, ResponseTypes,
    Scope, TokenUrl, UserInfoUrl,
};

use crate::MockIdp;

pub async fn configuration(State(idp): State<MockIdp>) -> Response {
    match metadata(&idp) {
        Ok(metadata) => Json(metadata).into_response(),
        Err(err) => {
            tracing::error!("mock IdP cannot describe itself: {err}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn metadata(idp: &MockIdp) -> Result<ProviderMetadataWithLogout, openidconnect::url::ParseError> {
    let logout = LogoutProviderMetadata {
        end_session_endpoint: Some(EndSessionUrl::new(idp.url("/logout"))?),
        additional_metadata: EmptyAdditionalProviderMetadata {},
    };
    Ok(ProviderMetadataWithLogout::new(
        IssuerUrl::new(idp.issuer.clone())?,
        AuthUrl::new(idp.url("/authorize"))?,
        JsonWebKeySetUrl::new(idp.url("/jwks"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::EdDsa],
        logout,
    )
    .set_token_endpoint(Some(TokenUrl::new(idp.url("/token"))?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(idp.url("/userinfo"))?))
    .set_scopes_supported(Some(vec![
        Scope::new("openid".into()),
        Scope::new("profile".into()),
    ]))
    .set_grant_types_supported(Some(vec![CoreGrantType::AuthorizationCode]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
    ])))
}

pub async fn jwks(State(idp): State<MockIdp>) -> Json<CoreJsonWebKeySet> {
    Json(CoreJsonWebKeySet::new(vec![idp.key.as_verification_key()]))
}
