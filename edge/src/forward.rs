//! Header handling on the way through the edge.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection, not the message: never forwarded
/// (RFC 9110 §7.6.1), in either direction.
pub static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Room for the headers the edge adds to a message on its way (forwarding
/// headers and the request id toward a zone; the request id, the cache's
/// and the security headers toward a client), reserved when a parsed head's
/// map is made so that adding them never grows it.
pub const ADDED_HEADERS: usize = 8;

/// `X-Forwarded-For`: the client address as the edge saw it.
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`: the scheme the client used to reach the edge.
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`: the `Host` the client asked for.
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Removes hop-by-hop headers, including any the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none: one look at the few names there are is
    // cheaper than nine removals by hash (this runs twice per request).
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// `X-Request-Id`: one id per request, from the client or made here.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// RFC 7239 `Forwarded`.
pub static FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// Sets the forwarding headers from what the edge observed. From an
/// untrusted peer, client-supplied `X-Forwarded-*` and `Forwarded` are
/// replaced (a client cannot spoof its address); from a trusted proxy in
/// front of the edge, `X-Forwarded-For` is extended and its
/// `X-Forwarded-Proto/Host` kept.
pub fn set_forwarded(headers: &mut HeaderMap, client: IpAddr, proto: &'static str, trusted: bool) {
    let host = headers.get(header::HOST).cloned();
    if trusted {
        set_forwarded_after_proxy(headers, client, proto, host);
        return;
    }
    // From an untrusted peer the values depend on the client, the scheme
    // and the host alone: the last ones made on this thread are kept,
    // since consecutive requests mostly come on one connection.
    let (xff, forwarded) = LAST_FORWARDED.with_borrow_mut(|last| {
        let key = (client, proto, host.clone());
        match last {
            Some((seen, xff, forwarded)) if *seen == key => (xff.clone(), forwarded.clone()),
            _ => {
                let made = (
                    text(&client.to_string()),
                    forwarded_value(client, proto, host.as_ref()),
                );
                *last = Some((key, made.0.clone(), made.1.clone()));
                made
            }
        }
    });
    put(headers, &X_FORWARDED_FOR, xff);
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    match host {
        Some(host) => headers.insert(X_FORWARDED_HOST.clone(), host),
        None => headers.remove(&X_FORWARDED_HOST),
    };
    put(headers, &FORWARDED, forwarded);
}

/// What the forwarding headers of an untrusted peer depend on.
type ForwardedKey = (IpAddr, &'static str, Option<HeaderValue>);
/// Those headers as made for a key: `X-Forwarded-For`, `Forwarded`.
type Forwarded = (ForwardedKey, Option<HeaderValue>, Option<HeaderValue>);

thread_local! {
    /// The forwarding headers last made on this thread, and for what.
    static LAST_FORWARDED: RefCell<Option<Forwarded>> = const { RefCell::new(None) };
}

/// From a trusted proxy: `X-Forwarded-For` extended, its
/// `X-Forwarded-Proto/Host` kept.
fn set_forwarded_after_proxy(
    headers: &mut HeaderMap,
    client: IpAddr,
    proto: &'static str,
    host: Option<HeaderValue>,
) {
    let xff = match headers
        .get(&X_FORWARDED_FOR)
        .and_then(|v| v.to_str().ok())
        .filter(|prior| !prior.trim().is_empty())
    {
        Some(prior) => format!("{prior}, {client}"),
        None => client.to_string(),
    };
    put(headers, &X_FORWARDED_FOR, text(&xff));
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    }
    if !headers.contains_key(&X_FORWARDED_HOST) {
        match &host {
            Some(host) => headers.insert(X_FORWARDED_HOST.clone(), host.clone()),
            None => headers.remove(&X_FORWARDED_HOST),
        };
    }
    put(
        headers,
        &FORWARDED,
        forwarded_value(client, proto, host.as_ref()),
    );
}

/// RFC 7239 `Forwarded` for `client`.
fn forwarded_value(client: IpAddr, proto: &str, host: Option<&HeaderValue>) -> Option<HeaderValue> {
    let node = match client {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("\"[{ip}]\""),
    };
    let mut value = format!("for={node};proto={proto}");
    if let Some(host) = host.and_then(|h| h.to_str().ok()) {
        value.push_str(";host=\"");
        value.push_str(host);
        value.push('"');
    }
    text(&value)
}

/// The request's id: the client's `X-Request-Id` when it is short and
/// plain, else a new random one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&X_REQUEST_ID)
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
        })
        .cloned()
        .unwrap_or_else(new_request_id)
}

/// A new id: this process's random 48-bit prefix and a 48-bit counter, as
/// 24 hex digits. Unique per process and, with the prefix, across restarts
/// and replicas; no system call per request (ids need not be secret).
fn new_request_id() -> HeaderValue {
    static PREFIX: OnceLock<u128> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // Distinct enough for log correlation even without randomness.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes.copy_from_slice(&nanos.to_le_bytes()[..8]);
        }
        u128::from(u64::from_le_bytes(bytes))
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = ((prefix & 0xffff_ffff_ffff) << 48) | u128::from(n & 0xffff_ffff_ffff);
    // 24 hex digits, written by hand: this runs on every request.
    let mut text = [0u8; 24];
    for (i, digit) in text.iter_mut().enumerate() {
        let nibble = (id >> (4 * (23 - i))) & 0xf;
        *digit = b"0123456789abcdef"[nibble as usize];
    }
    HeaderValue::from_bytes(&text).unwrap_or(HeaderValue::from_static("unknown"))
}

/// Security headers on HTML responses, where the zone did not set them.
pub fn add_security_headers(headers: &mut HeaderMap, https: bool) {
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !html {
        return;
    }
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
}

/// Addresses and host headers are visible ASCII; anything else is dropped.
fn text(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

fn put(headers: &mut HeaderMap, name: &HeaderName, value: Option<HeaderValue>) {
    match value {
        Some(value) => {
            headers.insert(name.clone(), value);
        }
        None => {
            headers.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn hop_by_hop_list_is_lowercase_and_complete() {
        let names: Vec<&str> = HOP_BY_HOP.iter().map(HeaderName::as_str).collect();
        for required in [
            "connection",
            "keep-alive",
            "te",
            "transfer-encoding",
            "upgrade",
            "trailer",
        ] {
            assert!(names.contains(&required), "{required} missing");
        }
    }

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut h = headers(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("te", "trailers"),
            ("cookie", "auth.session-token=abc"),
            ("content-type", "text/html"),
        ]);
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "cookie"]);
    }

    fn spoofed() -> HeaderMap {
        headers(&[
            ("host", "localhost:8080"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "for=6.6.6.6"),
        ])
    }

    #[test]
    fn forwarded_headers_replace_client_spoofs() {
        let mut h = spoofed();
        set_forwarded(&mut h, "127.0.0.7".parse().unwrap(), "http", false);
        assert_eq!(h["x-forwarded-for"], "127.0.0.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "localhost:8080");
        assert_eq!(
            h["forwarded"],
            "for=127.0.0.7;proto=http;host=\"localhost:8080\""
        );
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
    }

    #[test]
    fn a_trusted_proxy_extends_the_chain() {
        let mut h = spoofed();
        set_forwarded(&mut h, "10.0.0.1".parse().unwrap(), "http", true);
        assert_eq!(h["x-forwarded-for"], "6.6.6.6, 10.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "evil.example");
    }

    #[test]
    fn forwarded_host_is_dropped_without_a_host() {
        let mut h = headers(&[("x-forwarded-host", "evil.example")]);
        set_forwarded(&mut h, "::1".parse().unwrap(), "http", false);
        assert!(h.get("x-forwarded-host").is_none());
        assert_eq!(h["x-forwarded-for"], "::1");
        assert_eq!(h["forwarded"], "for=\"[::1]\";proto=http");
    }

    #[test]
    fn request_ids_are_kept_when_plain_and_made_otherwise() {
        let kept = request_id(&headers(&[("x-request-id", "abc-123")]));
        assert_eq!(kept, "abc-123");
        let made = request_id(&headers(&[("x-request-id", "<script>")]));
        assert_eq!(made.len(), 24);
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }

    #[test]
    fn html_gets_security_headers_without_overriding_the_zone() {
        let mut h = headers(&[
            ("content-type", "text/html; charset=utf-8"),
            ("x-frame-options", "SAMEORIGIN"),
        ]);
        add_security_headers(&mut h, true);
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "SAMEORIGIN");
        assert!(h.contains_key("strict-transport-security"));
        let mut json = headers(&[("content-type", "application/json")]);
        add_security_headers(&mut json, false);
        assert!(!json.contains_key("x-content-type-options"));
    }
}
