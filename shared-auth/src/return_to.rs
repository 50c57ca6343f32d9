//! The one guard for redirect targets that come from a user.

use contracts::Zone;
use contracts::zone::AuthPath;

/// Where to go when no (acceptable) target was given.
pub const DEFAULT_RETURN_TO: &str = "/";

/// Whether `target` is acceptable as a redirect target: a same-origin
/// absolute path to a page.
///
/// Accepted: `/`, `/shop/orders?x=1#top`. Refused: anything not starting
/// with a single `/` (`//evil`, `/\evil`, `https://…`, `javascript:…`,
/// relative paths), backslashes anywhere, control characters and
/// whitespace, and percent-encoded slashes, backslashes, dots or control
/// characters (which some servers or browsers decode into the above).
/// Length is capped at 2 KiB. A page is the only acceptable target: paths
/// under a zone's API prefix or `/…/me` (JSON, server functions) are refused.
pub fn is_acceptable_return_to(target: &str) -> bool {
    target.len() <= 2048
        && is_same_origin_path(target)
        && !has_dangerous_escape(target)
        && !is_api_path(target)
}

/// True when `target` is a path on this origin as a browser reads a
/// `Location`: one leading `/` not followed by `/` or `\`, no backslash,
/// control character or whitespace anywhere.
pub fn is_same_origin_path(target: &str) -> bool {
    let bytes = target.as_bytes();
    bytes.first() == Some(&b'/')
        && !bytes.get(1).is_some_and(|b| *b == b'/' || *b == b'\\')
        && !target
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// True when `target`'s path lies under a zone's API prefix or is a `/…/me`
/// endpoint (whole segments: `/apiary` is a page).
fn is_api_path(target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let path = path.trim_end_matches('/');
    Zone::ALL.iter().any(|zone| {
        let api = zone.api_prefix();
        path == zone.me_path()
            || path == api
            || path
                .strip_prefix(api)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// `target` if [`is_acceptable_return_to`], else `/`.
pub fn return_to_or_home(target: Option<&str>) -> String {
    target
        .filter(|target| is_acceptable_return_to(target))
        .unwrap_or(DEFAULT_RETURN_TO)
        .to_owned()
}

/// `/auth/login?return_to=<back>`: the sign-in link for a page. Slashes
/// stay readable; every other character outside the URL-safe set is
/// percent-encoded.
pub fn login_href(back: &str) -> String {
    let mut href = format!("{}?return_to=", AuthPath::Login.path());
    for byte in back.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            href.push(char::from(byte));
        } else {
            href.push_str(&format!("%{byte:02X}"));
        }
    }
    href
}

/// Any `%XX` that decodes to `/`, `\`, `.`, `%` (double encoding), or a
/// control character; and any malformed escape.
fn has_dangerous_escape(target: &str) -> bool {
    let bytes = target.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                return true;
            };
            if matches!(value, b'/' | b'\\' | b'.' | b'%') || value < 0x20 || value == 0x7f {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_same_origin_paths() {
        for ok in [
            "/",
            "/shop/orders",
            "/shop/orders?page=2&sort=new",
            "/auth/profile#name",
            "/a%20b",
            "/caf%C3%A9",
            "/apiary",
            "/shop/apis",
        ] {
            assert!(is_acceptable_return_to(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_hostile_targets() {
        let long = format!("/{}", "a".repeat(2048));
        let hostile = [
            "",
            "shop",
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "\\\\evil.example",
            "/shop\\..\\..\\evil",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            " /shop",
            "/shop\n/evil",
            "/shop\r\nSet-Cookie: x=1",
            "/shop\t",
            "/\u{0}",
            "/%2F%2Fevil.example",
            "/%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil",
            "/%252F%252Fevil.example",
            "/%2e%2e/%2e%2e/etc",
            "/%0d%0aSet-Cookie:x",
            "/%09",
            "/%",
            "/%zz",
            "/%2",
            long.as_str(),
            "/shop/api/products",
            "/shop/api/cart/checkout?x=1",
            "/api",
            "/api/",
            "/api/me",
            "/auth/api/sessions/revoke",
            "/auth/me",
            "/shop/api",
        ];
        for bad in hostile {
            assert!(!is_acceptable_return_to(bad), "{bad:?} was accepted");
        }
    }

    #[test]
    fn falls_back_to_home() {
        assert_eq!(return_to_or_home(None), "/");
        assert_eq!(return_to_or_home(Some("//evil")), "/");
        assert_eq!(return_to_or_home(Some("/shop")), "/shop");
    }
}
