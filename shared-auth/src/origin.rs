//! The same-origin check for state-changing requests (CSRF defence on top
//! of `SameSite=Lax`).

use http::HeaderMap;
use http::header::ORIGIN;

/// True when a browser says the request comes from `public_origin`:
/// `Origin` equals it exactly, or (when a browser sends no `Origin`)
/// `Sec-Fetch-Site: same-origin`. Requests with neither are refused.
pub fn is_same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    match headers.get(ORIGIN) {
        Some(origin) => origin.as_bytes() == public_origin.as_bytes(),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|site| site == "same-origin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn same_origin_is_accepted() {
        let origin = "http://localhost:8080";
        assert!(is_same_origin(
            &headers(&[("origin", "http://localhost:8080")]),
            origin
        ));
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            origin
        ));
    }

    #[test]
    fn cross_site_or_unknown_is_refused() {
        let origin = "http://localhost:8080";
        for h in [
            headers(&[("origin", "http://evil.example")]),
            headers(&[("origin", "http://localhost:8080.evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "same-origin"),
            ]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[]),
        ] {
            assert!(!is_same_origin(&h, origin), "{h:?}");
        }
    }
}
