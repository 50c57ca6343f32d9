//! The mock's settings, read once in `main`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use clap::Parser;
use contracts::zone::MOCK_IDP_DEFAULT_PORT;
use openidconnect::url::Url;

/// Development only: a mock OpenID provider for the Meridian app set. Any
/// username signs in. `cargo xtask dev`, `start` and `test` run it beside
/// the zones; never deploy it (it refuses an https public origin).
///
/// Environment variables (each also a flag): `PUBLIC_ORIGIN`,
/// `MOCK_IDP_LISTEN`, `MOCK_IDP_CLIENT_ID`, `MOCK_IDP_CLIENT_SECRET`,
/// `MOCK_IDP_KEY_FILE`, `MOCK_IDP_MAX_GRANTS`, `RUST_LOG`.
#[derive(Debug, Clone, Parser)]
#[command(name = "mock-idp", version)]
pub struct Config {
    /// The origin users see (the edge, `http://host[:port]`). The issuer
    /// is `<origin>/mock-idp`; the one registered redirect URI is
    /// `<origin>/auth/callback`, the one post-logout URI
    /// `<origin>/auth/signed-out`. An https origin is refused: the mock is
    /// for development only.
    #[arg(
        long,
        env = "PUBLIC_ORIGIN",
        default_value = contracts::zone::DEFAULT_PUBLIC_ORIGIN,
        value_parser = parse_dev_origin
    )]
    pub public_origin: String,
    /// Address the mock listens on (the edge forwards `/mock-idp` here when
    /// given `--mock-idp-upstream`).
    #[arg(long, env = "MOCK_IDP_LISTEN", default_value_t = default_listen())]
    pub listen: SocketAddr,
    /// The one client id this provider knows.
    #[arg(long, env = "MOCK_IDP_CLIENT_ID", default_value = "meridian")]
    pub client_id: String,
    /// That client's secret (required; identity gets the same value as
    /// `OIDC_CLIENT_SECRET`).
    #[arg(
        long,
        env = "MOCK_IDP_CLIENT_SECRET",
        hide_env_values = true,
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    pub client_secret: String,
    /// The Ed25519 signing key (PKCS#8 PEM); created with mode 0600 on
    /// first start, so restarts keep signing with the same key.
    #[arg(
        long,
        env = "MOCK_IDP_KEY_FILE",
        default_value = "data/mock-idp-ed25519.pem"
    )]
    pub key_file: PathBuf,
    /// Most unexpired authorization codes, and most unexpired access
    /// tokens, held in memory; past it the provider answers
    /// `temporarily_unavailable`.
    #[arg(long, env = "MOCK_IDP_MAX_GRANTS", default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_grants: u32,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

fn default_listen() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        MOCK_IDP_DEFAULT_PORT,
    ))
}

/// Why a public origin is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OriginError {
    #[error("PUBLIC_ORIGIN {0:?} is not a URL")]
    NotAUrl(String),
    #[error(
        "PUBLIC_ORIGIN is https: the mock provider lets anyone sign in as anyone and is for \
         development only. Point identity's OIDC_ISSUER_URL at a real provider instead"
    )]
    Https,
    #[error("PUBLIC_ORIGIN {0:?} must be http://host[:port] with no path, query or credentials")]
    NotAnOrigin(String),
}

/// `value` as a canonical http origin (lower-case scheme and host, default
/// port dropped, no trailing slash); https and anything that is not a bare
/// origin are refused.
pub fn parse_dev_origin(value: &str) -> Result<String, OriginError> {
    let url = Url::parse(value.trim()).map_err(|_| OriginError::NotAUrl(value.to_owned()))?;
    match url.scheme() {
        "http" => {}
        "https" => return Err(OriginError::Https),
        _ => return Err(OriginError::NotAnOrigin(value.to_owned())),
    }
    let bare = url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !bare {
        return Err(OriginError::NotAnOrigin(value.to_owned()));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("mock-idp").chain(args.iter().copied()))
    }

    #[test]
    fn origins_are_canonical_and_https_is_refused() {
        assert_eq!(
            parse_dev_origin("HTTP://LocalHost:80/").as_deref(),
            Ok("http://localhost")
        );
        assert_eq!(
            parse_dev_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            parse_dev_origin("https://shop.example"),
            Err(OriginError::Https)
        );
        assert_eq!(
            parse_dev_origin("HTTPS://shop.example"),
            Err(OriginError::Https)
        );
        for bad in [
            "localhost:8080",
            "http://x/app",
            "http://x?q",
            "http://u:p@x",
            "ftp://x",
        ] {
            assert!(parse_dev_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_https_origin_is_a_usage_error_with_exit_code_2() {
        let err = parse(&[
            "--client-secret",
            "s",
            "--public-origin",
            "https://meridian.example",
        ])
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("development only"), "{err}");
    }

    #[test]
    fn the_secret_is_required_and_the_rest_has_defaults() {
        let err = parse(&[]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let config = parse(&["--client-secret", "s"]).unwrap();
        assert_eq!(config.public_origin, "http://localhost:8080");
        assert_eq!(config.listen.port(), MOCK_IDP_DEFAULT_PORT);
        assert_eq!(config.client_id, "meridian");
        assert_eq!(config.key_file, PathBuf::from("data/mock-idp-ed25519.pem"));
    }

    #[test]
    fn help_lists_every_variable() {
        let help = <Config as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        for var in [
            "PUBLIC_ORIGIN",
            "MOCK_IDP_LISTEN",
            "MOCK_IDP_CLIENT_ID",
            "MOCK_IDP_CLIENT_SECRET",
            "MOCK_IDP_KEY_FILE",
            "MOCK_IDP_MAX_GRANTS",
            "RUST_LOG",
        ] {
            assert!(
                help.contains(&format!("[env: {var}")),
                "{var} missing:\n{help}"
            );
        }
        assert!(help.contains("development only"));
    }
}
