//! What the edge cache may store and serve (RFC 9111 as a shared cache,
//! RFC 5861's `stale-while-revalidate` and `stale-if-error`), written
//! defensively: anything personal, or anything the zone did not mark
//! public on purpose, goes past the cache.
//!
//! * A request may be answered from the cache only if it is `GET` or
//!   `HEAD`, carries no session cookie (either cookie of the session, on
//!   either origin kind), no `Authorization`, no `Range` and no `Upgrade`
//!   (a WebSocket is a tunnel, not a page).
//! * A response is stored only if it is a `200` to a `GET`; its
//!   `CDN-Cache-Control` (RFC 9213, read first: the zone's word to shared
//!   caches) or else its `Cache-Control` says `public` with a `max-age`,
//!   or gives an `s-maxage`, and says neither `private`, `no-store` nor
//!   `no-cache`; its `Cache-Control` says neither `private` nor `no-store`
//!   (whatever the targeted header says); it sets no cookie, and its
//!   `Vary` names neither `*`, `Cookie` nor `Authorization`.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName};

/// RFC 9213's `CDN-Cache-Control`.
pub static CDN_CACHE_CONTROL: HeaderName =
    HeaderName::from_static(contracts::cache::CDN_CACHE_CONTROL);
use http::{Method, StatusCode};

/// How long a stored response may be served, from its `Cache-Control`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    /// `s-maxage`, else `max-age`.
    pub fresh_for: Duration,
    /// `stale-while-revalidate`: served stale while one refresh runs.
    pub stale_while_revalidate: Duration,
    /// `stale-if-error`: served stale when the zone is down or fails.
    pub stale_if_error: Duration,
}

/// The longest lifetime honoured, whatever a zone says (a year).
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Whether `request` may be answered from (and fill) the cache.
pub fn request_may_use_cache(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !headers.contains_key(header::AUTHORIZATION)
        && !headers.contains_key(header::RANGE)
        && !headers.contains_key(header::UPGRADE)
        && !has_session_cookie(headers)
}

/// Whether any `Cookie` header names a cookie of the session.
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    use contracts::cookie::{SECURE_SESSION, SECURE_SESSION_JWT, SESSION, SESSION_JWT};
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| pair.split(|&b| b == b'=').next())
        .map(<[u8]>::trim_ascii)
        .any(|name| {
            [SESSION, SECURE_SESSION, SESSION_JWT, SECURE_SESSION_JWT]
                .iter()
                .any(|session| session.as_bytes() == name)
        })
}

/// The response's freshness when it may be stored, else `None`.
pub fn storable(status: StatusCode, headers: &HeaderMap) -> Option<Freshness> {
    if status != StatusCode::OK || headers.contains_key(header::SET_COOKIE) {
        return None;
    }
    if vary_names(headers)?
        .iter()
        .any(|name| name == header::COOKIE || name == header::AUTHORIZATION)
    {
        return None;
    }
    let forbidden = |d: &str| {
        let d = d.trim();
        d.eq_ignore_ascii_case("private") || d.eq_ignore_ascii_case("no-store")
    };
    if directives(headers, &header::CACHE_CONTROL).any(forbidden) {
        return None;
    }
    let source = if headers.contains_key(&CDN_CACHE_CONTROL) {
        &CDN_CACHE_CONTROL
    } else {
        &header::CACHE_CONTROL
    };
    let mut public = false;
    let mut max_age = None;
    let mut s_maxage = None;
    let mut swr = Duration::ZERO;
    let mut sie = Duration::ZERO;
    for directive in directives(headers, source) {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        let seconds = || value.and_then(parse_seconds);
        match name.to_ascii_lowercase().as_str() {
            "private" | "no-store" | "no-cache" => return None,
            "public" => public = true,
            "max-age" => max_age = Some(seconds()?),
            "s-maxage" => s_maxage = Some(seconds()?),
            "stale-while-revalidate" => swr = seconds()?,
            "stale-if-error" => sie = seconds()?,
            _ => {}
        }
    }
    let fresh_for = match (s_maxage, max_age) {
        (Some(shared), _) => shared,
        (None, Some(age)) if public => age,
        _ => return None,
    };
    Some(Freshness {
        fresh_for,
        stale_while_revalidate: swr,
        stale_if_error: sie,
    })
}

/// The header names of the response's `Vary`; `None` for `Vary: *` (or
/// a name that is not one), which no stored copy could honour.
pub fn vary_names(headers: &HeaderMap) -> Option<Vec<HeaderName>> {
    let mut names = Vec::new();
    for value in headers.get_all(header::VARY) {
        for name in value.to_str().ok()?.split(',') {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            if name == "*" {
                return None;
            }
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Some(names)
}

fn directives<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter(|directive| !directive.trim().is_empty())
}

fn parse_seconds(value: &str) -> Option<Duration> {
    let seconds: u64 = value.parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_LIFETIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse::<HeaderName>().unwrap(), v.parse().unwrap()))
            .collect()
    }

    fn freshness(cache_control: &str) -> Option<Freshness> {
        storable(
            StatusCode::OK,
            &headers(&[("cache-control", cache_control)]),
        )
    }

    #[test]
    fn public_pages_are_stored_with_their_lifetimes() {
        assert_eq!(
            freshness("public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"),
            Some(Freshness {
                fresh_for: Duration::from_secs(5),
                stale_while_revalidate: Duration::from_secs(30),
                stale_if_error: Duration::from_secs(86400),
            })
        );
        let shared = freshness("max-age=60, s-maxage=10").unwrap();
        assert_eq!(shared.fresh_for, Duration::from_secs(10));
        assert_eq!(
            freshness("public, max-age=99999999999").unwrap().fresh_for,
            MAX_LIFETIME
        );
    }

    #[test]
    fn personal_or_unmarked_responses_are_not_stored() {
        for refused in [
            "private, no-store",
            "public, max-age=5, private",
            "public, max-age=5, no-cache",
            "max-age=5",
            "public",
            "public, max-age=soon",
            "",
        ] {
            assert_eq!(freshness(refused), None, "{refused}");
        }
        let mut cookie = headers(&[("cache-control", "public, max-age=5")]);
        cookie.insert(header::SET_COOKIE, "a=b".parse().unwrap());
        assert_eq!(storable(StatusCode::OK, &cookie), None);
        for vary in ["Cookie", "accept-encoding, cookie", "*", "Authorization"] {
            let h = headers(&[("cache-control", "public, max-age=5"), ("vary", vary)]);
            assert_eq!(storable(StatusCode::OK, &h), None, "{vary}");
        }
        let h = headers(&[("cache-control", "public, max-age=5")]);
        assert_eq!(storable(StatusCode::NOT_FOUND, &h), None);
        assert_eq!(storable(StatusCode::PARTIAL_CONTENT, &h), None);
    }

    #[test]
    fn the_targeted_header_speaks_to_shared_caches() {
        // What the zones send: browsers always ask again, the edge keeps it.
        let zone = headers(&[
            ("cache-control", "no-cache"),
            (
                "cdn-cache-control",
                "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400",
            ),
        ]);
        let freshness = storable(StatusCode::OK, &zone).unwrap();
        assert_eq!(freshness.fresh_for, Duration::from_secs(5));
        assert_eq!(freshness.stale_if_error, Duration::from_secs(86400));
        // `private` or `no-store` in Cache-Control wins over it.
        for personal in ["private", "no-store", "private, no-store"] {
            let h = headers(&[
                ("cache-control", personal),
                ("cdn-cache-control", "public, max-age=5"),
            ]);
            assert_eq!(storable(StatusCode::OK, &h), None, "{personal}");
        }
        let h = headers(&[
            ("cache-control", "public, max-age=60"),
            ("cdn-cache-control", "no-store"),
        ]);
        assert_eq!(storable(StatusCode::OK, &h), None);
    }

    #[test]
    fn signed_in_and_partial_requests_go_past_the_cache() {
        let anonymous = headers(&[("cookie", "theme=dark; auth.login=x")]);
        assert!(request_may_use_cache(&Method::GET, &anonymous));
        assert!(request_may_use_cache(&Method::HEAD, &HeaderMap::new()));
        assert!(!request_may_use_cache(&Method::POST, &HeaderMap::new()));
        for signed_in in [
            "auth.session-token=abc",
            "theme=dark;  auth.session-jwt=x",
            "__Host-auth.session-token=abc",
            "__Host-auth.session-jwt=abc",
        ] {
            let h = headers(&[("cookie", signed_in)]);
            assert!(!request_may_use_cache(&Method::GET, &h), "{signed_in}");
        }
        let bearer = headers(&[("authorization", "Bearer x")]);
        assert!(!request_may_use_cache(&Method::GET, &bearer));
        let range = headers(&[("range", "bytes=0-10")]);
        assert!(!request_may_use_cache(&Method::GET, &range));
        let websocket = headers(&[("upgrade", "websocket"), ("connection", "upgrade")]);
        assert!(!request_may_use_cache(&Method::GET, &websocket));
    }

    #[test]
    fn vary_names_are_collected_once() {
        let h = headers(&[("vary", "Accept-Encoding, accept-encoding , Accept")]);
        assert_eq!(
            vary_names(&h).unwrap(),
            [header::ACCEPT_ENCODING, header::ACCEPT]
        );
        assert_eq!(vary_names(&headers(&[("vary", "*")])), None);
    }
}
