//! The OIDC relying party: provider discovery (cached), the client, and
//! the login attempt kept server-side between `/auth/login` and
//! `/auth/callback`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use contracts::zone::AuthPath;
use openidconnect::core::CoreClient;
use openidconnect::{
    ClientId, ClientSecret, IssuerUrl, ProviderMetadataWithLogout, RedirectUrl, reqwest,
};
use serde::{Deserialize, Serialize};
use shared_auth::auth::Auth;
use tokio::sync::RwLock;

use super::IdentityConfig;
use shared_auth::token_issuer::TokenIssuer;

/// Grant kind of a pending login (keyed by its `state`).
pub const LOGIN_GRANT: &str = "oidc-login";
/// How long a user has to finish signing in at the provider.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);

/// Grant kind of a session's id_token (keyed by the session id), kept for
/// the `id_token_hint` of RP-initiated logout.
pub const ID_TOKEN_GRANT: &str = "oidc-id-token";

/// Drops the id_tokens kept for the sign-out of sessions that ended some
/// other way (revoked from the sessions page): nothing is kept for a
/// session that no longer exists. A failure is logged; the grants expire.
pub async fn forget_id_tokens(store: &shared_auth::store::Store, session_ids: &[String]) {
    for id in session_ids {
        if let Err(err) = store.take_grant::<String>(ID_TOKEN_GRANT, id).await {
            tracing::warn!("cannot drop a revoked session's id_token: {err}");
        }
    }
}

/// What `/auth/login` remembers for `/auth/callback`, under the one-time
/// `state` (only its hash is stored).
#[derive(Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    /// SHA-256 of the login cookie set on the browser that started the
    /// sign-in: the callback must come from that browser (login CSRF).
    pub browser: String,
}

/// The provider's discovery document, with `end_session_endpoint` when it
/// supports RP-initiated logout.
pub type Metadata = ProviderMetadataWithLogout;

/// Shared state of the login routes.
#[derive(Clone)]
pub struct Oidc {
    pub auth: Auth,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    pub http: reqwest::Client,
    metadata: Arc<RwLock<Option<Metadata>>>,
    /// The session-token signer: a sign-in hands over a token too.
    pub tokens: TokenIssuer,
}

impl Oidc {
    pub fn new(config: &IdentityConfig, auth: &Auth) -> anyhow::Result<Self> {
        config.check_issuer(auth.config().is_https())?;
        let issuer = config.issuer()?.to_owned();
        let http = reqwest::ClientBuilder::new()
            // Never follow redirects from the provider (SSRF defence).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            auth: auth.clone(),
            issuer: IssuerUrl::new(issuer).context("OIDC_ISSUER_URL is not a URL")?,
            client_id: ClientId::new(config.oidc_client_id.clone()),
            client_secret: ClientSecret::new(config.client_secret()?.to_owned()),
            redirect: RedirectUrl::new(auth.config().url(AuthPath::Callback.path()))
                .context("PUBLIC_ORIGIN does not make a valid redirect URL")?,
            http,
            metadata: Arc::new(RwLock::new(None)),
            tokens: TokenIssuer::new(auth, Duration::from_secs(config.session_token_ttl_secs)),
        })
    }

    /// The provider's metadata: discovered on first use (the provider may
    /// start after identity), then cached.
    pub async fn metadata(&self) -> anyhow::Result<Metadata> {
        if let Some(metadata) = self.metadata.read().await.as_ref() {
            return Ok(metadata.clone());
        }
        let metadata = Metadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .with_context(|| format!("OIDC discovery at {} failed", self.issuer.as_str()))?;
        *self.metadata.write().await = Some(metadata.clone());
        Ok(metadata)
    }

    /// Forgets the cached metadata (after a failure that may mean the
    /// provider rotated its keys).
    pub async fn forget_metadata(&self) {
        *self.metadata.write().await = None;
    }

    /// A client for `metadata`, with this app's credentials and callback.
    pub fn client(
        &self,
        metadata: Metadata,
    ) -> openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// This app's client id at the provider.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
}
