//! Identity's own settings, flattened into `zone-identity --help`.

use std::path::PathBuf;

use clap::{ArgAction, Args};

/// The identity provider identity signs users in with.
///
/// Environment variables: `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`,
/// `OIDC_CLIENT_SECRET`, `MOCK_IDP`, `MOCK_IDP_KEY_FILE`.
#[derive(Debug, Clone, Args)]
pub struct IdentityConfig {
    /// OpenID Connect issuer URL (discovery is fetched from
    /// `<issuer>/.well-known/openid-configuration`). Default: the built-in
    /// mock provider at `<PUBLIC_ORIGIN>/mock-idp`.
    #[arg(long, env = "OIDC_ISSUER_URL")]
    pub oidc_issuer_url: Option<String>,
    /// Client id registered at the provider.
    #[arg(long, env = "OIDC_CLIENT_ID", default_value = "meridian")]
    pub oidc_client_id: String,
    /// Client secret registered at the provider.
    #[arg(
        long,
        env = "OIDC_CLIENT_SECRET",
        default_value = "meridian-dev-secret",
        hide_default_value = true
    )]
    pub oidc_client_secret: String,
    /// Serve the mock identity provider at `/mock-idp` (any username signs
    /// in). Turn it off when a real provider is configured.
    #[arg(long, env = "MOCK_IDP", default_value_t = true, action = ArgAction::Set)]
    pub mock_idp: bool,
    /// The mock provider's Ed25519 signing key (PKCS#8 PEM); created on
    /// first start so every identity instance signs with the same key.
    #[arg(
        long,
        env = "MOCK_IDP_KEY_FILE",
        default_value = "data/mock-idp-ed25519.pem"
    )]
    pub mock_idp_key_file: PathBuf,
}
