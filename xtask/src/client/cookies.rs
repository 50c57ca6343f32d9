//! `Set-Cookie` read in one place, with the `cookie` crate, and the
//! cookies one simulated browser holds ([`Jar`]).

use std::collections::BTreeMap;

use cookie::Cookie;
use cookie::time::Duration;
use reqwest::header::{HeaderMap, SET_COOKIE};

/// Every `Set-Cookie` of a response, parsed; one that does not parse is
/// skipped, as a browser ignores it.
pub fn set_cookies(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| Cookie::parse(v).ok())
}

/// The `Set-Cookie` for cookie `name`, if the response has one (the last
/// one, which is what a browser ends up with).
pub fn set_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<Cookie<'h>> {
    set_cookies(headers).filter(|c| c.name() == name).last()
}

/// The value a response gives cookie `name`, unless it clears it.
pub fn value(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookie(headers, name)
        .filter(|c| !removes(c))
        .map(|c| c.value().to_owned())
}

/// True when the response gives cookie `name` a (non-empty) value.
pub fn sets(headers: &HeaderMap, name: &str) -> bool {
    set_cookie(headers, name).is_some_and(|c| !c.value().is_empty())
}

/// True when the response removes cookie `name`: an empty value with
/// `Max-Age=0`.
pub fn clears(headers: &HeaderMap, name: &str) -> bool {
    set_cookie(headers, name)
        .is_some_and(|c| c.value().is_empty() && c.max_age() == Some(Duration::ZERO))
}

/// Every `Set-Cookie` header as sent, for messages.
pub fn lines(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// `name=value`, as a `Cookie` header carries one cookie.
pub fn pair(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

/// True when a browser drops the cookie on reading this `Set-Cookie`: an
/// empty value, or a `Max-Age` of zero or less.
fn removes(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() || cookie.max_age().is_some_and(|age| age <= Duration::ZERO)
}

/// The cookies one simulated browser holds for the origin.
#[derive(Clone, Debug, Default)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// A jar holding one cookie.
    pub fn with(name: &str, value: &str) -> Self {
        let mut jar = Self::default();
        jar.0.insert(name.to_owned(), value.to_owned());
        jar
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `Cookie` header, when the jar is not empty.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(name, value)| pair(name, value))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Takes in a response's `Set-Cookie` headers as a browser would: an
    /// empty value or `Max-Age=0` removes the cookie.
    pub fn absorb(&mut self, headers: &HeaderMap) {
        for cookie in set_cookies(headers) {
            if removes(&cookie) {
                self.0.remove(cookie.name());
            } else {
                self.0
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(set_cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in set_cookies {
            headers.append(SET_COOKIE, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn a_jar_keeps_set_cookies_and_drops_cleared_ones() {
        let mut jar = Jar::default();
        jar.absorb(&headers(&[
            "auth.login=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=600",
        ]));
        jar.absorb(&headers(&["auth.session-token=tok; Path=/; Max-Age=28800"]));
        assert_eq!(
            jar.header().as_deref(),
            Some("auth.login=abc; auth.session-token=tok")
        );
        jar.absorb(&headers(&[
            "auth.login=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        ]));
        assert_eq!(jar.get("auth.login"), None);
        assert_eq!(jar.header().as_deref(), Some("auth.session-token=tok"));
        jar.absorb(&headers(&["auth.session-token=; Path=/"]));
        assert_eq!(jar.header(), None);
    }

    #[test]
    fn set_cookie_finds_a_value_and_skips_clearing() {
        let mut headers = headers(&[
            "auth.login=; Path=/; Max-Age=0",
            "auth.session-token=s3ss; Path=/; HttpOnly; SameSite=Lax",
            "other.auth.login=x; Path=/",
        ]);
        assert_eq!(
            value(&headers, contracts::cookie::SESSION).as_deref(),
            Some("s3ss")
        );
        assert_eq!(value(&headers, contracts::cookie::LOGIN), None);
        headers.append(SET_COOKIE, "auth.login=l0gin; Max-Age=600".parse().unwrap());
        assert_eq!(
            value(&headers, contracts::cookie::LOGIN).as_deref(),
            Some("l0gin")
        );
    }

    #[test]
    fn setting_and_clearing_are_told_apart() {
        let headers = headers(&[
            "auth.login=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            "auth.session-token=tok; Path=/; HttpOnly; SameSite=Lax; Max-Age=28800",
            "half.cleared=; Path=/",
        ]);
        assert!(clears(&headers, "auth.login"));
        assert!(!sets(&headers, "auth.login"));
        assert!(sets(&headers, "auth.session-token"));
        assert!(!clears(&headers, "auth.session-token"));
        // An empty value without Max-Age=0 is not a clearing cookie.
        assert!(!clears(&headers, "half.cleared"));
        assert!(!sets(&headers, "absent") && !clears(&headers, "absent"));
        let session = set_cookie(&headers, "auth.session-token").unwrap();
        assert_eq!(session.http_only(), Some(true));
        assert_eq!(session.path(), Some("/"));
        assert_eq!(lines(&headers).len(), 3);
    }
}
