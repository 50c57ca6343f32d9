//! The one client for the site through the edge, shared by the load
//! generator (async reqwest), verify-auth (blocking reqwest) and the
//! benchmarks: the origin and its cookie names ([`Site`]), the readers of
//! `Set-Cookie` and a browser's cookie jar ([`cookies`]), and the sign-in
//! through the mock provider ([`sign_in`]), written once as steps that
//! either client sends.

pub mod cookies;
pub mod sign_in;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::Url;

/// No single request may hang a run.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The site under test: its origin and the names its cookies have there.
#[derive(Clone, Debug)]
pub struct Site {
    base: String,
    session_cookie: &'static str,
    session_jwt_cookie: &'static str,
    login_cookie: &'static str,
}

impl Site {
    /// The site at `base` (e.g. `http://localhost:8080`, the stack's
    /// `PUBLIC_ORIGIN`); on https the cookies carry the `__Host-` names.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let url = Url::parse(&base).with_context(|| format!("not a URL: {base}"))?;
        let secure = url.scheme() == "https";
        Ok(Self {
            base,
            session_cookie: contracts::cookie::session(secure),
            session_jwt_cookie: contracts::cookie::session_jwt(secure),
            login_cookie: contracts::cookie::login(secure),
        })
    }

    /// The origin, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The session cookie's name on this origin.
    pub fn session_cookie(&self) -> &'static str {
        self.session_cookie
    }

    /// The session-token (JWT) cookie's name on this origin.
    pub fn session_jwt_cookie(&self) -> &'static str {
        self.session_jwt_cookie
    }

    /// The login cookie's name on this origin.
    pub fn login_cookie(&self) -> &'static str {
        self.login_cookie
    }

    /// `path` on the origin (a `Location` too); absolute URLs are kept as
    /// they are.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }
}

/// The async client (the load generator): redirects are the caller's to
/// follow and check; `idle` kept-alive connections.
pub fn async_client(idle: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .pool_max_idle_per_host(idle)
        .build()
        .context("cannot build the HTTP client")
}

/// The blocking client (verify-auth): redirects are the caller's to follow
/// and check.
pub fn blocking_client() -> anyhow::Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .context("cannot build the HTTP client")
}

/// The query parameters of `url` (absolute, or a path on any origin).
pub fn query_of(url: &str) -> anyhow::Result<HashMap<String, String>> {
    Ok(parse_url(url)?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// The path of `url` (absolute, or a path on any origin).
pub fn path_of(url: &str) -> anyhow::Result<String> {
    Ok(parse_url(url)?.path().to_owned())
}

fn parse_url(url: &str) -> anyhow::Result<Url> {
    let absolute = if url.starts_with('/') {
        format!("http://x{url}")
    } else {
        url.to_owned()
    };
    Url::parse(&absolute).with_context(|| format!("not a URL: {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_names_its_cookies_by_scheme_and_joins_paths() {
        let plain = Site::new("http://localhost:8080/").unwrap();
        assert_eq!(plain.base(), "http://localhost:8080");
        assert_eq!(plain.session_cookie(), contracts::cookie::SESSION);
        assert_eq!(plain.login_cookie(), contracts::cookie::LOGIN);
        assert_eq!(plain.url("/shop"), "http://localhost:8080/shop");
        assert_eq!(plain.url("http://h:1/x"), "http://h:1/x");
        let secure = Site::new("https://example.test").unwrap();
        assert_eq!(secure.session_cookie(), contracts::cookie::SECURE_SESSION);
        assert_eq!(secure.login_cookie(), contracts::cookie::SECURE_LOGIN);
        assert!(Site::new("not a url").is_err());
    }

    #[test]
    fn urls_and_paths_give_their_query() {
        let q = query_of("/auth/callback?code=c&state=s").unwrap();
        assert_eq!(q["code"], "c");
        assert_eq!(
            path_of("http://h:1/auth/signed-out?state=x").unwrap(),
            "/auth/signed-out"
        );
    }

    #[test]
    fn location_paths_ignore_origin_and_query() {
        assert_eq!(
            path_of("http://localhost:8080/mock-idp/logout?id_token_hint=x").unwrap(),
            "/mock-idp/logout"
        );
        assert_eq!(
            path_of("http://localhost:8080/auth/signed-out").unwrap(),
            "/auth/signed-out"
        );
        assert_eq!(
            path_of("/auth/signed-out?state=s").unwrap(),
            "/auth/signed-out"
        );
        // An origin alone is the root path (the WHATWG URL reading).
        assert_eq!(path_of("http://localhost:8080").unwrap(), "/");
        assert!(path_of("evil").is_err());
    }
}
