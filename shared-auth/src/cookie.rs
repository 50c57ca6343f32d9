//! The cookies of the app set: the session cookie every zone reads and only
//! identity sets, identity's short-lived login cookie, and a zone's own
//! token cookies. Their attributes are written here and nowhere else; the
//! names every part reads are in `contracts::cookie`.

use http::HeaderValue;
use http::header::{COOKIE, HeaderMap};

/// The cookies of one deployment. `secure` (from `PUBLIC_ORIGIN` or
/// `COOKIE_SECURE`) picks the `__Host-` names and the `Secure` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookies {
    pub secure: bool,
}

impl Cookies {
    pub const fn new(secure: bool) -> Self {
        Self { secure }
    }

    /// The session cookie's name.
    pub const fn session_name(self) -> &'static str {
        contracts::cookie::session(self.secure)
    }

    /// The login cookie's name.
    pub const fn login_name(self) -> &'static str {
        contracts::cookie::login(self.secure)
    }

    /// `Set-Cookie` for a session token: `Path=/`, `HttpOnly`,
    /// `SameSite=Lax`, no `Domain` (host-only, so it reaches every zone on
    /// the origin and no other host), `Max-Age` = the session's remaining
    /// life, `Secure` on https.
    pub fn session(self, token: &str, max_age_secs: i64) -> HeaderValue {
        header(&token_cookie(
            self.session_name(),
            token,
            "/",
            max_age_secs,
            self.secure,
        ))
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_session(self) -> HeaderValue {
        header(&token_cookie(self.session_name(), "", "/", 0, self.secure))
    }

    /// The session-token cookie's name.
    pub const fn session_jwt_name(self) -> &'static str {
        contracts::cookie::session_jwt(self.secure)
    }

    /// `Set-Cookie` for a session token (a JWT identity signed): the
    /// session cookie's attributes, `Max-Age` = the token's life.
    pub fn session_jwt(self, jwt: &str, max_age_secs: i64) -> HeaderValue {
        header(&token_cookie(
            self.session_jwt_name(),
            jwt,
            "/",
            max_age_secs,
            self.secure,
        ))
    }

    /// `Set-Cookie` that removes the session-token cookie.
    pub fn clear_session_jwt(self) -> HeaderValue {
        header(&token_cookie(
            self.session_jwt_name(),
            "",
            "/",
            0,
            self.secure,
        ))
    }

    /// `Set-Cookie` for the login cookie (same attributes as the session
    /// cookie, `Max-Age` = the time allowed to finish signing in).
    pub fn login(self, token: &str, max_age_secs: i64) -> HeaderValue {
        header(&token_cookie(
            self.login_name(),
            token,
            "/",
            max_age_secs,
            self.secure,
        ))
    }

    /// `Set-Cookie` that removes the login cookie.
    pub fn clear_login(self) -> HeaderValue {
        header(&token_cookie(self.login_name(), "", "/", 0, self.secure))
    }

    /// True when `value` (a `Set-Cookie` header) sets or clears the session
    /// cookie or the session-token cookie.
    pub fn is_session(self, value: &HeaderValue) -> bool {
        let bytes = value.as_bytes();
        [self.session_name(), self.session_jwt_name()]
            .iter()
            .any(|name| bytes.starts_with(name.as_bytes()) && bytes.get(name.len()) == Some(&b'='))
    }

    /// The session token of the request (see [`unique_token`]).
    pub fn session_token(self, headers: &HeaderMap) -> Option<&str> {
        unique_token(headers, self.session_name())
    }

    /// The session token (JWT) of the request: sent once, at most
    /// [`crate::session_token::MAX_TOKEN_BYTES`], JWT characters only
    /// (base64url and dots); anything else counts as absent.
    pub fn session_jwt_value(self, headers: &HeaderMap) -> Option<&str> {
        unique_value(headers, self.session_jwt_name()).filter(|jwt| {
            jwt.len() <= crate::session_token::MAX_TOKEN_BYTES
                && jwt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
    }

    /// The login token of the request (see [`unique_token`]).
    pub fn login_token(self, headers: &HeaderMap) -> Option<&str> {
        unique_token(headers, self.login_name())
    }
}

/// Cookie values are base64url tokens; nothing else is interpolated, so a
/// value that is not a valid header can only come from a bug.
fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The value of cookie `name` when the request carries it exactly once and
/// it is a well-formed random token (base64url, 16 to 128 characters).
/// Anything else counts as absent: a malformed value, and a cookie sent
/// twice (one may have been tossed in by another site; the request is then
/// anonymous, and nothing is cleared, so the real cookie survives).
pub fn unique_token<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let token = unique_value(headers, name)?;
    let well_formed = (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(token)
}

/// The value of cookie `name` when the request carries it exactly once.
fn unique_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(found, _)| *found == name)
        .map(|(_, token)| token);
    let value = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(value)
}

/// `Set-Cookie` for a token cookie: `HttpOnly`, `SameSite=Lax`, limited to
/// `path`, no `Domain`. The session and login cookies are ones (`Path=/`);
/// a zone may set its own short-lived ones under its prefix. A
/// `max_age_secs` of 0 removes it.
pub fn token_cookie(
    name: &str,
    token: &str,
    path: &str,
    max_age_secs: i64,
    secure: bool,
) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={token}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age_secs.max(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn zone_token_cookies_are_scoped_and_read_back() {
        let cookie = token_cookie(
            "shop.pending-add",
            "tok_0123456789abcdef",
            "/shop",
            900,
            true,
        );
        assert_eq!(
            cookie,
            "shop.pending-add=tok_0123456789abcdef; Path=/shop; HttpOnly; SameSite=Lax; Max-Age=900; Secure"
        );
        let headers =
            with_cookie("a=1; shop.pending-add=tok_0123456789abcdef; auth.session-token=x");
        assert_eq!(
            unique_token(&headers, "shop.pending-add"),
            Some("tok_0123456789abcdef")
        );
        assert_eq!(unique_token(&headers, "a"), None, "too short to be a token");
        assert_eq!(unique_token(&headers, "missing"), None);
    }

    #[test]
    fn cookie_attributes_match_the_contract() {
        let plain = Cookies::new(false);
        let cookie = plain.session("abc_DEF-123", 3600);
        assert_eq!(
            cookie,
            "auth.session-token=abc_DEF-123; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600"
        );
        assert!(!cookie.to_str().unwrap().contains("Domain"));
        assert!(
            plain
                .clear_session()
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        assert!(plain.is_session(&cookie) && plain.is_session(&plain.clear_session()));
        assert!(!plain.is_session(&HeaderValue::from_static("other=1")));
        assert!(!plain.is_session(&HeaderValue::from_static("auth.session-tokenx=1")));
        assert!(plain.is_session(&plain.session_jwt("a.b.c", 60)));
        assert!(plain.is_session(&plain.clear_session_jwt()));
    }

    #[test]
    fn https_cookies_are_host_prefixed_and_secure() {
        let secure = Cookies::new(true);
        let cookie = secure.session("abc", 10).to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-auth.session-token=abc; Path=/;"));
        assert!(cookie.ends_with("; Secure"));
        let login = secure.login("tok", 600).to_str().unwrap().to_owned();
        assert_eq!(
            login,
            "__Host-auth.login=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=600; Secure"
        );
        // A cookie without the prefix (tossed by a sibling host) is not read.
        let headers = with_cookie("auth.session-token=abcdefghijklmnopqrstuv");
        assert_eq!(secure.session_token(&headers), None);
        let headers = with_cookie("__Host-auth.session-token=abcdefghijklmnopqrstuv");
        assert_eq!(
            secure.session_token(&headers),
            Some("abcdefghijklmnopqrstuv")
        );
    }

    #[test]
    fn reads_the_token_among_other_cookies() {
        let headers = with_cookie("theme=dark; auth.session-token=abcdefghijklmnopqrstuv");
        assert_eq!(
            Cookies::new(false).session_token(&headers),
            Some("abcdefghijklmnopqrstuv")
        );
    }

    #[test]
    fn a_cookie_sent_twice_counts_as_absent() {
        let once = "auth.session-token=abcdefghijklmnopqrstuv";
        for twice in [
            "auth.session-token=abcdefghijklmnopqrstuv; auth.session-token=zzzzzzzzzzzzzzzzzzzzzz",
            "auth.session-token=abcdefghijklmnopqrstuv; auth.session-token=abcdefghijklmnopqrstuv",
        ] {
            assert_eq!(
                Cookies::new(false).session_token(&with_cookie(twice)),
                None,
                "{twice}"
            );
        }
        // Also across two Cookie headers (HTTP/2 sends one per cookie).
        let mut headers = with_cookie(once);
        headers.append(COOKIE, HeaderValue::from_static(once));
        assert_eq!(Cookies::new(false).session_token(&headers), None);
    }

    #[test]
    fn ignores_malformed_tokens() {
        for bad in [
            "auth.session-token=short",
            "auth.session-token=abc%20defghijklmnopqrstu",
            "xauth.session-token=abcdefghijklmnopqrstuv",
        ] {
            let headers = with_cookie(bad);
            assert_eq!(Cookies::new(false).session_token(&headers), None, "{bad}");
        }
    }
}
