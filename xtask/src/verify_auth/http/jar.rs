//! A cookie jar per simulated browser, and the readers for `Set-Cookie`.

use std::collections::BTreeMap;

use reqwest::blocking::Response;
use reqwest::header::SET_COOKIE;

/// The cookies one simulated browser holds for the origin.
#[derive(Clone, Debug, Default)]
pub(crate) struct Jar(BTreeMap<String, String>);

impl Jar {
    /// A jar holding one cookie.
    pub(crate) fn with(name: &str, value: &str) -> Self {
        let mut jar = Self::default();
        jar.0.insert(name.to_owned(), value.to_owned());
        jar
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `Cookie` header, when the jar is not empty.
    pub(super) fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Takes in the response's `Set-Cookie` headers as a browser would:
    /// an empty value or `Max-Age=0` removes the cookie.
    pub(crate) fn absorb(&mut self, response: &Response) {
        for set in set_cookies(response) {
            self.take(&set);
        }
    }

    /// Takes in one `Set-Cookie` value.
    fn take(&mut self, set_cookie: &str) {
        let (pair, attributes) = set_cookie.split_once(';').unwrap_or((set_cookie, ""));
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let expired = attributes
            .split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
        if value.trim().is_empty() || expired {
            self.0.remove(name.trim());
        } else {
            self.0
                .insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }
}

/// Every `Set-Cookie` header of `response`.
pub(crate) fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The `Set-Cookie` header for cookie `name`, if the response has one.
pub(crate) fn set_cookie(response: &Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// True when the response gives cookie `name` a (non-empty) value.
pub(crate) fn sets_cookie(response: &Response, name: &str) -> bool {
    set_cookie(response, name).is_some_and(|v| !v.starts_with(&format!("{name}=;")))
}

/// True when the response removes cookie `name`.
pub(crate) fn clears_cookie(response: &Response, name: &str) -> bool {
    set_cookie(response, name)
        .is_some_and(|v| v.starts_with(&format!("{name}=;")) && v.contains("Max-Age=0"))
}

/// The attributes of a `Set-Cookie` value, trimmed (the pair first).
pub(crate) fn cookie_parts(set_cookie: &str) -> Vec<&str> {
    set_cookie.split(';').map(str::trim).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jar_keeps_set_cookies_and_drops_cleared_ones() {
        let mut jar = Jar::default();
        jar.take("auth.login=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=600");
        jar.take("auth.session-token=tok; Path=/; Max-Age=28800");
        assert_eq!(
            jar.header().as_deref(),
            Some("auth.login=abc; auth.session-token=tok")
        );
        jar.take("auth.login=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
        assert_eq!(jar.get("auth.login"), None);
        assert_eq!(jar.header().as_deref(), Some("auth.session-token=tok"));
        jar.take("auth.session-token=; Path=/");
        assert_eq!(jar.header(), None);
    }
}
