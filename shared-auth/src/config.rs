//! Settings every zone shares for sessions, read once at start-up.

use std::time::Duration;

use url::Url;

use crate::cookie::Cookies;
use crate::session_token::Claims;

/// Session and store settings. Flattened into each zone's `--help`.
///
/// Environment variables: `DATABASE_URL`, `DATABASE_WAIT_SECS`,
/// `PUBLIC_ORIGIN`, `SESSION_TTL_SECS`, `SESSION_MAX_AGE_SECS`,
/// `COOKIE_SECURE`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuthConfig {
    /// The session store: `sqlite://path` (created on first use; several
    /// processes on one machine may share it) or
    /// `postgres://user[:password]@host[:port]/database` (any number of
    /// instances on any number of machines).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/sessions.sqlite"
    )]
    pub database_url: String,
    /// How long to keep retrying, at start, a database that is not
    /// reachable yet (each attempt is logged); then exit with an error.
    #[arg(long, env = "DATABASE_WAIT_SECS", default_value_t = 60)]
    pub database_wait_secs: u64,
    /// The origin users see (scheme://host[:port]); the edge's address.
    /// Redirects and the Origin check of mutations use it, never the
    /// request's Host header.
    #[arg(long, env = "PUBLIC_ORIGIN", default_value = contracts::zone::DEFAULT_PUBLIC_ORIGIN, value_parser = parse_origin)]
    pub public_origin: String,
    /// Idle lifetime of a session in seconds: each use past half of it
    /// extends it (and re-issues the cookie).
    #[arg(long, env = "SESSION_TTL_SECS", default_value_t = 8 * 3600, value_parser = clap::value_parser!(u64).range(60..))]
    pub session_ttl_secs: u64,
    /// Absolute lifetime of a session in seconds, however active it is.
    #[arg(long, env = "SESSION_MAX_AGE_SECS", default_value_t = 7 * 24 * 3600, value_parser = clap::value_parser!(u64).range(60..))]
    pub session_max_age_secs: u64,
    /// Force the cookie's `Secure` flag on or off. By default it is on
    /// when the public origin is https.
    #[arg(long, env = "COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// How the zone knows who a request belongs to. `token` (default):
    /// identity's signed session token, checked here against identity's
    /// JWKS and the revocation log (a revoked session is refused within
    /// a second); a request without a token it can trust (none, expired,
    /// revoked, or the log not read lately) gets a fresh one from identity,
    /// which reads the store. `store`: the session store on every
    /// signed-in request (revocation is immediate).
    #[arg(long, env = "SESSION_MODE", value_enum, default_value_t = SessionMode::Token)]
    pub session_mode: SessionMode,
    /// Where this zone reaches identity directly, not through the edge
    /// (for its JWKS and token refreshes in token mode).
    #[arg(long, env = "IDENTITY_INTERNAL_URL", default_value_t = default_identity_url())]
    pub identity_internal_url: String,
}

/// See [`AuthConfig::session_mode`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionMode {
    Store,
    #[default]
    Token,
}

fn default_identity_url() -> String {
    format!("http://{}", contracts::Zone::Identity.default_addr())
}

impl AuthConfig {
    /// Who signs session tokens: identity, at `<PUBLIC_ORIGIN>/auth`.
    pub fn token_issuer(&self) -> String {
        self.url(contracts::Zone::Identity.home())
    }

    /// Who session tokens are for: the site, `<PUBLIC_ORIGIN>`.
    pub fn token_audience(&self) -> &str {
        &self.public_origin
    }

    /// What a session token for `user`'s session `sid` says, issued at
    /// `iat` and expiring at `exp` (Unix seconds).
    pub fn session_claims(&self, user: &contracts::User, sid: &str, iat: i64, exp: i64) -> Claims {
        Claims {
            iss: self.token_issuer(),
            aud: self.token_audience().to_owned(),
            sub: user.id.clone(),
            sid: sid.to_owned(),
            name: user.display_name.clone(),
            username: user.username.clone(),
            iat,
            exp,
        }
    }

    /// `path` on identity, reached directly (not through the edge): its
    /// JWKS, token refreshes and revocation log in token mode.
    pub fn identity_url(&self, path: &str) -> String {
        format!("{}{path}", self.identity_internal_url.trim_end_matches('/'))
    }

    pub fn database_wait(&self) -> Duration {
        Duration::from_secs(self.database_wait_secs)
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_secs)
    }

    pub fn session_max_age(&self) -> Duration {
        Duration::from_secs(self.session_max_age_secs.max(self.session_ttl_secs))
    }

    /// Whether the cookies carry `Secure` (and the `__Host-` names).
    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or_else(|| self.is_https())
    }

    /// The cookies of this deployment (names and flags).
    pub fn cookies(&self) -> Cookies {
        Cookies::new(self.cookie_secure())
    }

    /// Whether the public origin is https (a production deployment).
    pub fn is_https(&self) -> bool {
        self.public_origin.starts_with("https://")
    }

    /// An absolute URL on the public origin: `url("/auth/callback")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_origin)
    }
}

/// Accepts `scheme://host[:port]` (http or https, no user, path, query or
/// fragment) and returns its canonical form, the one browsers send in
/// `Origin`: the WHATWG URL parser's serialisation of the origin, as
/// browsers compute it (lower-case scheme and host, IP addresses in their
/// canonical form, no default port, no trailing slash).
/// `HTTPS://Shop.Example:443/` becomes `https://shop.example`.
pub fn parse_origin(value: &str) -> Result<String, String> {
    const SHAPE: &str = "expected scheme://host[:port], e.g. http://localhost:8080";
    let url = Url::parse(value.trim()).map_err(|e| format!("not a URL: {e}"))?;
    let bare = matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(SHAPE.into());
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        auth: AuthConfig,
    }

    #[test]
    fn origins_are_validated() {
        assert_eq!(
            parse_origin("http://localhost:8080/").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            parse_origin("https://shop.example").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            parse_origin("HTTPS://Shop.Example:443/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            parse_origin("http://LOCALHOST:80").unwrap(),
            "http://localhost"
        );
        assert_eq!(
            parse_origin("http://[::1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        assert_eq!(
            parse_origin("http://[0:0:0:0:0:0:0:1]:8080").unwrap(),
            "http://[::1]:8080"
        );
        assert_eq!(parse_origin("http://127.1").unwrap(), "http://127.0.0.1");
        assert!(parse_origin("localhost:8080").is_err());
        assert!(parse_origin("http://user@x").is_err());
        assert!(parse_origin("http://x?q=1").is_err());
        assert!(parse_origin("http://x#top").is_err());
        assert!(parse_origin("ftp://x").is_err());
        assert!(parse_origin("http://x/path").is_err());
    }

    #[test]
    fn secure_follows_the_origin_unless_forced() {
        let cli = Cli::try_parse_from(["z", "--public-origin", "https://a.example"]).unwrap();
        assert!(cli.auth.cookie_secure());
        let cli = Cli::try_parse_from(["z", "--public-origin", "HTTPS://A.example"]).unwrap();
        assert!(
            cli.auth.cookie_secure(),
            "the scheme is canonicalised first"
        );
        assert_eq!(
            cli.auth.cookies().session_name(),
            "__Host-auth.session-token"
        );
        let cli = Cli::try_parse_from(["z", "--public-origin", "http://a.example"]).unwrap();
        assert!(!cli.auth.cookie_secure());
        let cli = Cli::try_parse_from([
            "z",
            "--public-origin",
            "http://a",
            "--cookie-secure",
            "true",
        ])
        .unwrap();
        assert!(cli.auth.cookie_secure());
    }

    #[test]
    fn token_mode_is_the_default() {
        let cli = Cli::try_parse_from(["z"]).unwrap();
        assert_eq!(cli.auth.session_mode, SessionMode::Token);
        let cli = Cli::try_parse_from(["z", "--session-mode", "store"]).unwrap();
        assert_eq!(cli.auth.session_mode, SessionMode::Store);
    }

    #[test]
    fn too_short_lifetimes_are_refused() {
        assert!(Cli::try_parse_from(["z", "--session-ttl-secs", "5"]).is_err());
    }
}
