//! `/.well-known/openid-configuration` and `/jwks`.

use axum::Json;
use axum::extract::State;
use openidconnect::core::{
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AuthUrl, EmptyAdditionalProviderMetadata, IssuerUrl, JsonWebKeySetUrl, PrivateSigningKey as _,
    ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};

use super::MockIdp;

pub async fn configuration(
    State(idp): State<MockIdp>,
) -> Result<Json<CoreProviderMetadata>, String> {
    let url_error = |e: openidconnect::url::ParseError| e.to_string();
    let metadata = CoreProviderMetadata::new(
        IssuerUrl::new(idp.issuer.clone()).map_err(url_error)?,
        AuthUrl::new(idp.url("/authorize")).map_err(url_error)?,
        JsonWebKeySetUrl::new(idp.url("/jwks")).map_err(url_error)?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::EdDsa],
        EmptyAdditionalProviderMetadata {},
    )
    .set_token_endpoint(Some(TokenUrl::new(idp.url("/token")).map_err(url_error)?))
    .set_userinfo_endpoint(Some(
        UserInfoUrl::new(idp.url("/userinfo")).map_err(url_error)?,
    ))
    .set_scopes_supported(Some(vec![
        Scope::new("openid".into()),
        Scope::new("profile".into()),
    ]))
    .set_grant_types_supported(Some(vec![CoreGrantType::AuthorizationCode]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
    ]));
    Ok(Json(metadata))
}

pub async fn jwks(State(idp): State<MockIdp>) -> Json<CoreJsonWebKeySet> {
    Json(CoreJsonWebKeySet::new(vec![idp.key.as_verification_key()]))
}
