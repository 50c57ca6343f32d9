//! Identity's own settings, flattened into `zone-identity --help`.

use std::net::IpAddr;

use clap::Args;
use openidconnect::url::{Host, Url};

/// The OpenID provider identity signs users in with. There is no default
/// provider: development commands (`cargo xtask dev|start|test`) point it
/// at the mock provider (`zones/mock-idp`), a deployment at a real one.
///
/// Environment variables: `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`,
/// `OIDC_CLIENT_SECRET`, `ALLOW_INSECURE_ISSUER`, `SESSION_TOKEN_TTL_SECS`.
#[derive(Debug, Clone, Args)]
pub struct IdentityConfig {
    /// OpenID Connect issuer URL (discovery is fetched from
    /// `<issuer>/.well-known/openid-configuration`), e.g.
    /// `https://login.example.com/realms/meridian`. Required (except with
    /// `--migrate`).
    #[arg(long, env = "OIDC_ISSUER_URL", required_unless_present = "migrate")]
    pub oidc_issuer_url: Option<String>,
    /// Client id registered at the provider.
    #[arg(long, env = "OIDC_CLIENT_ID", default_value = "meridian")]
    pub oidc_client_id: String,
    /// Client secret registered at the provider. Required (except with
    /// `--migrate`).
    #[arg(
        long,
        env = "OIDC_CLIENT_SECRET",
        hide_env_values = true,
        required_unless_present = "migrate"
    )]
    pub oidc_client_secret: Option<String>,
    /// Accept an issuer on a loopback address, on plain http, or named
    /// `mock-idp` even though `PUBLIC_ORIGIN` is https. Refused by default:
    /// such an issuer is a development provider, and any username signs in
    /// there.
    #[arg(long, env = "ALLOW_INSECURE_ISSUER")]
    pub allow_insecure_issuer: bool,
    /// How long a session token identity signs stays valid, in seconds
    /// (zones verify it without the store until then). A key retired by
    /// `cargo xtask rotate-keys` stays published this long.
    #[arg(
        long,
        env = "SESSION_TOKEN_TTL_SECS",
        default_value_t = shared_auth::session_token::DEFAULT_TTL_SECS,
        value_parser = clap::value_parser!(u64).range(10..=shared_auth::session_token::MAX_TTL_SECS)
    )]
    pub session_token_ttl_secs: u64,
}

impl IdentityConfig {
    /// The issuer URL (clap makes it required unless `--migrate`).
    pub fn issuer(&self) -> anyhow::Result<&str> {
        self.oidc_issuer_url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("OIDC_ISSUER_URL is required"))
    }

    /// The client secret (clap makes it required unless `--migrate`).
    pub fn client_secret(&self) -> anyhow::Result<&str> {
        self.oidc_client_secret
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("OIDC_CLIENT_SECRET is required"))
    }

    /// Refuses a development issuer for a production origin (see
    /// [`insecure_issuer`]) unless `--allow-insecure-issuer` is given.
    pub fn check_issuer(&self, public_origin_is_https: bool) -> anyhow::Result<()> {
        let issuer = self.issuer()?;
        if !public_origin_is_https || self.allow_insecure_issuer {
            return Ok(());
        }
        match insecure_issuer(issuer) {
            Some(why) => anyhow::bail!(
                "refusing OIDC_ISSUER_URL {issuer}: {why}, but PUBLIC_ORIGIN is https. Point \
                 identity at your real OpenID provider, or pass --allow-insecure-issuer if you \
                 really mean it"
            ),
            None => Ok(()),
        }
    }
}

/// Why `issuer` looks like a development provider, if it does: not https,
/// a loopback or unspecified host (`localhost`, `*.localhost`, 127.0.0.0/8
/// in any spelling, `::1`, IPv4-mapped loopback, `0.0.0.0`), or the mock
/// provider (`mock-idp` in the host or path). The URL is read with the
/// same WHATWG parser the HTTP client uses, so `https://127.1`,
/// `https://0x7f.0.0.1` or `https://localhost.` are seen as what they reach.
pub fn insecure_issuer(issuer: &str) -> Option<&'static str> {
    let Ok(url) = Url::parse(issuer) else {
        return Some("it is not a URL");
    };
    let loopback = match url.host() {
        None => return Some("it has no host"),
        Some(Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(Host::Ipv6(ip)) => {
            let ip = IpAddr::V6(ip).to_canonical();
            ip.is_loopback() || ip.is_unspecified()
        }
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if loopback {
        Some("it is on a loopback address")
    } else if host.contains("mock-idp") || url.path().contains("mock-idp") {
        Some("it is the development mock provider")
    } else if url.scheme() != "https" {
        Some("it is not https")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        /// As in the zone runtime's settings.
        #[arg(long)]
        migrate: bool,
        #[command(flatten)]
        identity: IdentityConfig,
    }

    #[test]
    fn issuer_and_secret_are_required() {
        let err = Cli::try_parse_from(["identity"]).err().unwrap().to_string();
        assert!(err.contains("--oidc-issuer-url"), "{err}");
        assert!(
            Cli::try_parse_from(["identity", "--oidc-issuer-url", "https://idp.example"]).is_err()
        );
        let cli = Cli::try_parse_from([
            "identity",
            "--oidc-issuer-url",
            "https://idp.example",
            "--oidc-client-secret",
            "s",
        ])
        .unwrap();
        assert_eq!(cli.identity.oidc_client_id, "meridian");
        assert!(Cli::try_parse_from(["identity", "--migrate"]).is_ok());
    }

    #[test]
    fn development_issuers_are_recognised() {
        for dev in [
            "http://localhost:8080/mock-idp",
            "https://127.0.0.1/realms/x",
            "https://[::1]:8443",
            "https://app.localhost/idp",
            "https://0.0.0.0",
            "https://127.1",
            "https://0x7f.0.0.1",
            "https://2130706433",
            "https://127.0.0.1.",
            "https://localhost.",
            "https://LOCALHOST",
            "https://[::ffff:127.0.0.1]",
            "https://user@localhost/realms/x",
            "https://mock-idp.internal",
            "https://meridian.example/mock-idp",
            "http://login.example.com",
            "not a url",
        ] {
            assert!(insecure_issuer(dev).is_some(), "{dev}");
        }
        for real in [
            "https://login.example.com/realms/meridian",
            "https://dev-123.okta.com/oauth2/default",
            "https://login.microsoftonline.com/tenant/v2.0",
        ] {
            assert_eq!(insecure_issuer(real), None, "{real}");
        }
    }

    #[test]
    fn an_https_origin_refuses_a_development_issuer_unless_allowed() {
        let config = |issuer: &str, allow: bool| IdentityConfig {
            oidc_issuer_url: Some(issuer.into()),
            oidc_client_id: "meridian".into(),
            oidc_client_secret: Some("s".into()),
            allow_insecure_issuer: allow,
            session_token_ttl_secs: 300,
        };
        let mock = "http://localhost:8080/mock-idp";
        assert!(
            config(mock, false).check_issuer(false).is_ok(),
            "http origin"
        );
        let err = config(mock, false).check_issuer(true).unwrap_err();
        assert!(err.to_string().contains("--allow-insecure-issuer"), "{err}");
        assert!(config(mock, true).check_issuer(true).is_ok());
        assert!(
            config("https://login.example.com", false)
                .check_issuer(true)
                .is_ok()
        );
    }
}
