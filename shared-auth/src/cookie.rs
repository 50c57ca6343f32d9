//! The session cookie `auth.session-token`: the one cookie every zone reads
//! and only identity sets.

use http::HeaderValue;
use http::header::{COOKIE, HeaderMap};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "auth.session-token";

/// `Set-Cookie` for a session token: `Path=/`, `HttpOnly`, `SameSite=Lax`,
/// no `Domain` (host-only, so it reaches every zone on the origin and no
/// other host), `Max-Age` = the session's remaining life, `Secure` when asked.
pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let value = token_cookie(COOKIE_NAME, token, "/", max_age_secs, secure);
    // Tokens are base64url; nothing else is interpolated.
    HeaderValue::from_str(&value).unwrap_or_else(|_| clear_cookie(false))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static(
            "auth.session-token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure",
        )
    } else {
        HeaderValue::from_static("auth.session-token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// True when `value` (a `Set-Cookie` header) sets or clears the session cookie.
pub fn is_session_cookie(value: &HeaderValue) -> bool {
    value
        .as_bytes()
        .starts_with(format!("{COOKIE_NAME}=").as_bytes())
}

/// The session token from the request's `Cookie` headers, if one is
/// present and well-formed (base64url, sane length). Anything else is
/// treated as no cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<&str> {
    cookie_token(headers, COOKIE_NAME)
}

/// The value of cookie `name` when it is a well-formed random token
/// (base64url, 16 to 128 characters); anything else counts as absent.
pub fn cookie_token<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, token)| token)
        .filter(|token| {
            (16..=128).contains(&token.len())
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `Set-Cookie` for a token cookie: `HttpOnly`, `SameSite=Lax`, limited to
/// `path`, no `Domain`. The session cookie is one (`Path=/`); a zone may
/// set its own short-lived ones under its prefix. A `max_age_secs` of 0
/// removes it.
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
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static(
                "a=1; shop.pending-add=tok_0123456789abcdef; auth.session-token=x",
            ),
        );
        assert_eq!(
            cookie_token(&headers, "shop.pending-add"),
            Some("tok_0123456789abcdef")
        );
        assert_eq!(cookie_token(&headers, "a"), None, "too short to be a token");
        assert_eq!(cookie_token(&headers, "missing"), None);
    }

    #[test]
    fn cookie_attributes_match_the_contract() {
        let cookie = session_cookie("abc_DEF-123", 3600, false);
        assert_eq!(
            cookie,
            "auth.session-token=abc_DEF-123; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600"
        );
        assert!(!cookie.to_str().unwrap().contains("Domain"));
        let secure = session_cookie("abc", 10, true);
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
        assert!(clear_cookie(false).to_str().unwrap().contains("Max-Age=0"));
        assert!(is_session_cookie(&cookie) && is_session_cookie(&clear_cookie(true)));
        assert!(!is_session_cookie(&HeaderValue::from_static("other=1")));
    }

    #[test]
    fn reads_the_token_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            "theme=dark; auth.session-token=abcdefghijklmnopqrstuv"
                .parse()
                .unwrap(),
        );
        assert_eq!(token_from_headers(&headers), Some("abcdefghijklmnopqrstuv"));
    }

    #[test]
    fn ignores_malformed_tokens() {
        for bad in [
            "auth.session-token=short",
            "auth.session-token=abc%20defghijklmnopqrstu",
            "xauth.session-token=abcdefghijklmnopqrstuv",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, bad.parse().unwrap());
            assert_eq!(token_from_headers(&headers), None, "{bad}");
        }
    }
}
