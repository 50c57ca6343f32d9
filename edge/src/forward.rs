//! Header handling on the way through the edge.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
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

/// Whether `name` is one of [`HOP_BY_HOP`]: a match on the text (by length
/// first), where comparing it with each of the nine was a few hundred
/// instructions per request.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Removes hop-by-hop headers, including any the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none: one look at the few names there are is
    // cheaper than nine removals by hash (this runs twice per request).
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    // `Connection` may name more headers to drop, but never `Host`: a
    // request to a zone without one would carry no host in its forwarding
    // headers while the cache had keyed it by the client's.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .filter(|name| name != header::HOST)
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// `X-Request-Id`: one id per request, from the client or made here.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// RFC 7239 `Forwarded`.
pub static FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// What the edge tells a zone about a request: `X-Forwarded-For`,
/// `X-Forwarded-Proto`, `X-Forwarded-Host`, RFC 7239 `Forwarded` and
/// `X-Request-Id`, kept as header lines that `upstream_http1` writes after
/// the request's own headers, in place of any copies the client sent (see
/// [`Forwarding::replaces`]). Written straight into the head rather than
/// inserted into the request's header map: five inserts by hash were a
/// measurable share of a proxied request's CPU.
///
/// From an untrusted peer, client-supplied `X-Forwarded-*` and `Forwarded`
/// are replaced (a client cannot spoof its address); from a trusted proxy
/// in front of the edge, `X-Forwarded-For` is extended and its
/// `X-Forwarded-Proto/Host` kept.
#[derive(Clone, Debug)]
pub struct Forwarding {
    /// The four forwarding headers, each a `name: value\r\n` line.
    lines: Bytes,
    request_id: HeaderValue,
}

/// The headers a [`Forwarding`] writes, which the client's never replace.
static REPLACED: [&HeaderName; 5] = [
    &X_FORWARDED_FOR,
    &X_FORWARDED_PROTO,
    &X_FORWARDED_HOST,
    &FORWARDED,
    &X_REQUEST_ID,
];

impl Forwarding {
    /// The forwarding headers of a request with `headers` from `client`
    /// (a proxy the edge trusts when `trusted`), reaching the edge over
    /// `proto`, with the id `request_id`.
    pub fn new(
        headers: &HeaderMap,
        client: IpAddr,
        proto: &'static str,
        trusted: bool,
        request_id: HeaderValue,
    ) -> Self {
        // Only a plain `name[:port]` is passed on as the host: a zone that
        // splits `X-Forwarded-Host` on commas must not find another one in it.
        let host = headers.get(header::HOST);
        let lines = if trusted {
            lines_after_proxy(headers, client, proto, plain(host))
        } else {
            // From an untrusted peer the lines depend on the client, the
            // scheme and the host alone: the last ones made on this thread
            // are kept, since consecutive requests mostly come on one
            // connection. Keyed by the `Host` as sent, so that a request
            // like the last one is not checked again.
            LAST_FORWARDED.with_borrow_mut(|last| match last {
                Some((seen, lines))
                    if seen.0 == client && seen.1 == proto && seen.2.as_ref() == host =>
                {
                    lines.clone()
                }
                _ => {
                    let lines = lines_from_client(client, proto, plain(host));
                    *last = Some(((client, proto, host.cloned()), lines.clone()));
                    lines
                }
            })
        };
        Self { lines, request_id }
    }

    /// True for a header of the client's that this replaces.
    pub fn replaces(name: &HeaderName) -> bool {
        REPLACED.contains(&name)
    }

    /// Appends the lines to a request head being encoded.
    pub fn write(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.lines);
        line(out, &X_REQUEST_ID, self.request_id.as_bytes());
    }
}

/// What the forwarding lines of an untrusted peer depend on: the client,
/// the scheme and the `Host` as the client sent it.
type ForwardedKey = (IpAddr, &'static str, Option<HeaderValue>);

thread_local! {
    /// The forwarding lines last made on this thread, and for what.
    static LAST_FORWARDED: RefCell<Option<(ForwardedKey, Bytes)>> = const { RefCell::new(None) };
}

/// From an untrusted peer: every value is the edge's own.
fn lines_from_client(client: IpAddr, proto: &str, host: Option<&HeaderValue>) -> Bytes {
    let mut out = BytesMut::with_capacity(160);
    line(&mut out, &X_FORWARDED_FOR, client.to_string().as_bytes());
    line(&mut out, &X_FORWARDED_PROTO, proto.as_bytes());
    if let Some(host) = host {
        line(&mut out, &X_FORWARDED_HOST, host.as_bytes());
    }
    line(
        &mut out,
        &FORWARDED,
        forwarded_value(client, proto, host).as_bytes(),
    );
    out.freeze()
}

/// From a trusted proxy: `X-Forwarded-For` extended, its
/// `X-Forwarded-Proto/Host` kept (or the edge's when it sent none).
fn lines_after_proxy(
    headers: &HeaderMap,
    client: IpAddr,
    proto: &str,
    host: Option<&HeaderValue>,
) -> Bytes {
    let mut out = BytesMut::with_capacity(256);
    // Every `X-Forwarded-For` line the proxy passed on, in order (as
    // `client_ip` reads them), then the proxy's own address.
    let mut xff = String::new();
    for prior in headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|prior| !prior.is_empty())
    {
        xff.push_str(prior);
        xff.push_str(", ");
    }
    xff.push_str(&client.to_string());
    line(&mut out, &X_FORWARDED_FOR, xff.as_bytes());
    let kept_or = |out: &mut BytesMut, name: &HeaderName, own: Option<&[u8]>| {
        if headers.contains_key(name) {
            for value in headers.get_all(name) {
                line(out, name, value.as_bytes());
            }
        } else if let Some(own) = own {
            line(out, name, own);
        }
    };
    kept_or(&mut out, &X_FORWARDED_PROTO, Some(proto.as_bytes()));
    kept_or(&mut out, &X_FORWARDED_HOST, host.map(HeaderValue::as_bytes));
    line(
        &mut out,
        &FORWARDED,
        forwarded_value(client, proto, host).as_bytes(),
    );
    out.freeze()
}

/// One `name: value` line. Every value comes from a `HeaderValue` (which
/// holds no CR, LF or NUL), an address or the edge's own text.
fn line(out: &mut BytesMut, name: &HeaderName, value: &[u8]) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// RFC 7239 `Forwarded` for `client`; the host (a plain `name[:port]`,
/// see [`is_plain_host`]) as a quoted string.
fn forwarded_value(client: IpAddr, proto: &str, host: Option<&HeaderValue>) -> String {
    let mut value = match client {
        IpAddr::V4(ip) => format!("for={ip};proto={proto}"),
        IpAddr::V6(ip) => format!("for=\"[{ip}]\";proto={proto}"),
    };
    if let Some(host) = host.and_then(|h| h.to_str().ok()) {
        value.push_str(";host=\"");
        value.push_str(host);
        value.push('"');
    }
    value
}

/// `host` when it is plain (see [`is_plain_host`]).
fn plain(host: Option<&HeaderValue>) -> Option<&HeaderValue> {
    host.filter(|host| host.to_str().is_ok_and(is_plain_host))
}

/// A host as a client may name one: letters, digits, `-._`, and `:[]`
/// for a port and an IPv6 address. Anything else (a comma, a quote, a
/// space) is not passed on as a host, nor cached under.
pub fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
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

/// Ids made at a time on a thread, into one buffer that each is a slice
/// of: one allocation and one atomic add per this many requests instead
/// of one of each per request.
const IDS_AT_A_TIME: u64 = 64;
/// The length of an id: 24 hex digits.
const ID_LENGTH: usize = 24;

thread_local! {
    /// This thread's ids made ahead, and how many of them are used.
    static IDS: RefCell<(Bytes, usize)> = const { RefCell::new((Bytes::new(), 0)) };
}

/// A new id: this process's random 48-bit prefix and a 48-bit counter, as
/// 24 hex digits. Unique per process and, with the prefix, across restarts
/// and replicas; no system call per request (ids need not be secret).
/// Each thread takes the counter 64 at a time, so ids are unique but not
/// in the order of requests across threads.
fn new_request_id() -> HeaderValue {
    IDS.with_borrow_mut(|(ids, used)| {
        if *used * ID_LENGTH >= ids.len() {
            *ids = make_ids();
            *used = 0;
        }
        let id = ids.slice(*used * ID_LENGTH..(*used + 1) * ID_LENGTH);
        *used += 1;
        HeaderValue::from_maybe_shared(id).unwrap_or(HeaderValue::from_static("unknown"))
    })
}

/// The next [`IDS_AT_A_TIME`] ids, one after another.
fn make_ids() -> Bytes {
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
    let first = COUNTER.fetch_add(IDS_AT_A_TIME, Ordering::Relaxed);
    let mut out = BytesMut::with_capacity(ID_LENGTH * IDS_AT_A_TIME as usize);
    for n in first..first + IDS_AT_A_TIME {
        let id = ((prefix & 0xffff_ffff_ffff) << 48) | u128::from(n & 0xffff_ffff_ffff);
        // Hex digits written by hand, without `fmt`.
        let mut text = [0u8; ID_LENGTH];
        for (i, digit) in text.iter_mut().enumerate() {
            let nibble = (id >> (4 * (ID_LENGTH - 1 - i))) & 0xf;
            *digit = b"0123456789abcdef"[nibble as usize];
        }
        out.extend_from_slice(&text);
    }
    out.freeze()
}

/// Security headers on HTML responses, where the zone did not set them.
pub fn add_security_headers(headers: &mut HeaderMap, https: bool) {
    let html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hop_by_hop_match_names_the_same_headers_as_the_list() {
        for name in &HOP_BY_HOP {
            assert!(is_hop_by_hop(name), "{name}");
        }
        for name in [
            header::HOST,
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CACHE_CONTROL,
            header::USER_AGENT,
            X_FORWARDED_FOR.clone(),
            HeaderName::from_static("keep-alives"),
            HeaderName::from_static("tee"),
        ] {
            assert!(!is_hop_by_hop(&name), "{name}");
        }
    }

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

    /// The lines `forwarding` writes, as (name, value) pairs.
    fn written(forwarding: &Forwarding) -> Vec<(String, String)> {
        let mut out = BytesMut::new();
        forwarding.write(&mut out);
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.ends_with("\r\n"));
        text.trim_end_matches("\r\n")
            .split("\r\n")
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn id() -> HeaderValue {
        HeaderValue::from_static("req-1")
    }

    #[test]
    fn forwarded_headers_replace_client_spoofs() {
        let h = spoofed();
        for name in h.keys() {
            assert_eq!(Forwarding::replaces(name), name != "host", "{name}");
        }
        assert!(Forwarding::replaces(&X_REQUEST_ID));
        // Twice: made, then (the same key) from the thread's last lines.
        for _ in 0..2 {
            let forwarding = Forwarding::new(&h, "127.0.0.7".parse().unwrap(), "http", false, id());
            assert_eq!(
                written(&forwarding),
                pairs(&[
                    ("x-forwarded-for", "127.0.0.7"),
                    ("x-forwarded-proto", "http"),
                    ("x-forwarded-host", "localhost:8080"),
                    (
                        "forwarded",
                        "for=127.0.0.7;proto=http;host=\"localhost:8080\""
                    ),
                    ("x-request-id", "req-1"),
                ])
            );
        }
        // Another client on the same thread gets its own.
        let other = Forwarding::new(&h, "127.0.0.8".parse().unwrap(), "http", false, id());
        assert_eq!(written(&other)[0].1, "127.0.0.8");
    }

    #[test]
    fn a_trusted_proxy_extends_the_chain() {
        let h = spoofed();
        let forwarding = Forwarding::new(&h, "10.0.0.1".parse().unwrap(), "http", true, id());
        assert_eq!(
            written(&forwarding),
            pairs(&[
                ("x-forwarded-for", "6.6.6.6, 10.0.0.1"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "evil.example"),
                (
                    "forwarded",
                    "for=10.0.0.1;proto=http;host=\"localhost:8080\""
                ),
                ("x-request-id", "req-1"),
            ])
        );
        // A proxy that sent none gets the edge's.
        let bare = headers(&[("host", "example.test")]);
        let forwarding = Forwarding::new(&bare, "10.0.0.1".parse().unwrap(), "https", true, id());
        assert_eq!(
            written(&forwarding)[..3],
            pairs(&[
                ("x-forwarded-for", "10.0.0.1"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "example.test"),
            ])[..]
        );
    }

    #[test]
    fn forwarded_host_is_dropped_without_a_host() {
        let h = headers(&[("x-forwarded-host", "evil.example")]);
        let forwarding = Forwarding::new(&h, "::1".parse().unwrap(), "http", false, id());
        assert_eq!(
            written(&forwarding),
            pairs(&[
                ("x-forwarded-for", "::1"),
                ("x-forwarded-proto", "http"),
                ("forwarded", "for=\"[::1]\";proto=http"),
                ("x-request-id", "req-1"),
            ])
        );
    }

    #[test]
    fn only_a_plain_host_is_passed_on() {
        for odd in [
            r#"a"b;for=6.6.6.6"#,
            "a.example, evil.example",
            "a b",
            r"a\b",
        ] {
            let h = headers(&[("host", odd)]);
            let forwarding = Forwarding::new(&h, "127.0.0.9".parse().unwrap(), "http", false, id());
            let lines = written(&forwarding);
            assert!(
                lines.iter().all(|(name, _)| name != "x-forwarded-host"),
                "{odd}"
            );
            assert_eq!(lines[2].1, "for=127.0.0.9;proto=http", "{odd}");
        }
        assert!(is_plain_host("[::1]:8080") && is_plain_host("shop.example.com"));
        assert!(!is_plain_host(""));
    }

    #[test]
    fn the_last_lines_are_kept_only_for_the_same_host_and_scheme() {
        let client = "127.0.0.10".parse().unwrap();
        let a = headers(&[("host", "a.example")]);
        let b = headers(&[("host", "b.example")]);
        let first = written(&Forwarding::new(&a, client, "http", false, id()));
        let other_host = written(&Forwarding::new(&b, client, "http", false, id()));
        let other_scheme = written(&Forwarding::new(&b, client, "https", false, id()));
        assert_eq!(first[2].1, "a.example");
        assert_eq!(other_host[2].1, "b.example");
        assert_eq!(other_host[1].1, "http");
        assert_eq!(other_scheme[1].1, "https");
        assert_eq!(
            other_scheme[3].1,
            r#"for=127.0.0.10;proto=https;host="b.example""#
        );
    }

    #[test]
    fn a_trusted_proxys_every_forwarded_for_line_is_kept() {
        let mut h = headers(&[("host", "a.example")]);
        h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.append("x-forwarded-for", HeaderValue::from_static("203.0.113.5"));
        let forwarding = Forwarding::new(&h, "10.0.0.1".parse().unwrap(), "http", true, id());
        assert_eq!(written(&forwarding)[0].1, "6.6.6.6, 203.0.113.5, 10.0.0.1");
    }

    #[test]
    fn connection_cannot_drop_the_host() {
        let mut h = headers(&[
            ("host", "a.example"),
            ("connection", "host, x-hop"),
            ("x-hop", "1"),
        ]);
        strip_hop_by_hop(&mut h);
        assert_eq!(h["host"], "a.example");
        assert!(!h.contains_key("x-hop") && !h.contains_key("connection"));
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
    fn made_ids_stay_unique_across_batches_and_threads() {
        let make = || {
            (0..3 * IDS_AT_A_TIME)
                .map(|_| request_id(&HeaderMap::new()))
                .collect::<Vec<_>>()
        };
        let other = std::thread::spawn(make);
        let mut all = make();
        all.extend(other.join().unwrap());
        assert!(all.iter().all(|id| {
            id.len() == ID_LENGTH && id.as_bytes().iter().all(u8::is_ascii_hexdigit)
        }));
        // All share the process's prefix, and none repeats.
        assert!(
            all.iter()
                .all(|id| id.as_bytes()[..12] == all[0].as_bytes()[..12])
        );
        let distinct: std::collections::HashSet<_> = all.iter().map(|id| id.as_bytes()).collect();
        assert_eq!(distinct.len(), all.len());
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
