//! Who the client is: the address rate limits count and `/_edge/status`
//! checks. The peer, unless the peer is a trusted proxy: then the
//! right-most `X-Forwarded-For` entry that is not a trusted proxy (entries
//! left of it were written by the client and prove nothing).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;

use crate::forward::X_FORWARDED_FOR;
use crate::trusted::TrustedProxies;

/// What stands for a client whose address a trusted proxy garbled: never
/// loopback, never trusted, one shared rate-limit bucket.
pub const UNKNOWN_CLIENT: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// The client, and whether its address came from a forwarding header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// True when `ip` was read from `X-Forwarded-For` (the peer is a
    /// trusted proxy and sent one): the proxy's word, not the socket's.
    pub forwarded: bool,
}

/// The client (see the module doc).
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> ClientAddr {
    // `::ffff:127.0.0.1` from a dual-stack socket is 127.0.0.1.
    let peer = peer.to_canonical();
    let direct = ClientAddr {
        ip: peer,
        forwarded: false,
    };
    if !trusted.contains(peer) || !headers.contains_key(&X_FORWARDED_FOR) {
        return direct;
    }
    let entries: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.to_str().map_or(vec!["?"], |v| v.split(',').collect()))
        .collect();
    let mut ip = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry).map(|ip| ip.to_canonical()) {
            Some(entry) if trusted.contains(entry) => ip = entry,
            Some(entry) => {
                ip = entry;
                break;
            }
            None => {
                ip = UNKNOWN_CLIENT;
                break;
            }
        }
    }
    ClientAddr {
        ip,
        forwarded: true,
    }
}

/// Whether the client may see the edge's own diagnostics: a loopback
/// client only when it is the peer itself (a forwarding header naming
/// `127.0.0.1` proves nothing), otherwise only a trusted proxy, whether it
/// connected itself or a trusted proxy named it.
pub fn is_local_or_trusted(
    client: ClientAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> bool {
    if client.ip.is_unspecified() {
        return false;
    }
    let local = !client.forwarded && client.ip.is_loopback() && names_this_machine(headers);
    local || trusted.contains(client.ip)
}

/// Whether the request's `Host` is this machine: `localhost`, a loopback
/// address, or none. A browser on this machine sent here by a page whose
/// name was made to resolve to 127.0.0.1 (DNS rebinding) still sends that
/// page's name, so such a page can neither read nor change what only
/// this machine may.
pub fn names_this_machine(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(http::header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `203.0.113.9`, `2001:db8::1`, and the forms some proxies write:
/// `203.0.113.9:5123`, `[2001:db8::1]:5123`, `[2001:db8::1]`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn list(text: &str) -> TrustedProxies {
        text.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&X_FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn client_ip(peer: &str, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
        client(ip(peer), headers, trusted).ip
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let headers = xff(&["198.51.100.7"]);
        let direct = client(ip("203.0.113.9"), &headers, &list("10.0.0.1"));
        assert_eq!(direct.ip, ip("203.0.113.9"));
        assert!(!direct.forwarded);
        let none = TrustedProxies::default();
        assert_eq!(client_ip("127.0.0.1", &headers, &none), ip("127.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry() {
        let trusted = list("10.0.0.1,10.0.0.2");
        // The client wrote 6.6.6.6 itself; 10.0.0.2 passed it on.
        let headers = xff(&["6.6.6.6, 203.0.113.9", "10.0.0.2"]);
        let behind = client(ip("10.0.0.1"), &headers, &trusted);
        assert_eq!(behind.ip, ip("203.0.113.9"));
        assert!(behind.forwarded);
        let headers = xff(&["[2001:db8::7]:443", "198.51.100.1:80"]);
        assert_eq!(
            client_ip("10.0.0.1", &headers, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn trusted_proxies_may_be_ranges() {
        // Ingress pods anywhere in the pod network, and a sidecar on loopback.
        let trusted = list("10.244.0.0/16,::1");
        let headers = xff(&["6.6.6.6, 203.0.113.9, 10.244.7.1"]);
        assert_eq!(
            client_ip("10.244.3.17", &headers, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip("::ffff:10.244.200.9", &headers, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip("::1", &headers, &trusted), ip("203.0.113.9"));
        // Outside the range the peer is the client.
        assert_eq!(
            client_ip("10.245.0.1", &headers, &trusted),
            ip("10.245.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_without_forwarding_is_itself() {
        let trusted = list("10.0.0.1,10.0.0.2");
        let direct = client(ip("10.0.0.1"), &HeaderMap::new(), &trusted);
        assert_eq!(direct.ip, ip("10.0.0.1"));
        assert!(!direct.forwarded);
        let named = client(ip("10.0.0.1"), &xff(&["10.0.0.2"]), &trusted);
        assert_eq!(named.ip, ip("10.0.0.2"));
        assert!(named.forwarded);
    }

    #[test]
    fn garbage_is_an_unknown_client_never_a_trusted_one() {
        let trusted = list("127.0.0.1");
        let headers = xff(&["not-an-ip"]);
        let client = client(ip("127.0.0.1"), &headers, &trusted);
        assert_eq!(client.ip, UNKNOWN_CLIENT);
        assert!(!is_local_or_trusted(client, &headers, &trusted));
    }

    #[test]
    fn diagnostics_are_for_loopback_peers_and_trusted_proxies() {
        let trusted = list("10.0.0.0/24");
        let headers = HeaderMap::new();
        let allowed = |peer: &str| {
            is_local_or_trusted(client(ip(peer), &headers, &trusted), &headers, &trusted)
        };
        assert!(allowed("127.0.0.1"));
        assert!(allowed("::1"));
        assert!(allowed("::ffff:127.0.0.1"));
        assert!(allowed("10.0.0.1"));
        assert!(allowed("10.0.0.200"));
        assert!(!allowed("10.0.1.1"));
        assert!(!allowed("203.0.113.9"));
        let everyone_unspecified = list("::");
        let unspecified = client(ip("::"), &headers, &everyone_unspecified);
        assert!(!is_local_or_trusted(
            unspecified,
            &headers,
            &everyone_unspecified
        ));
    }

    #[test]
    fn a_forwarded_loopback_client_is_not_local() {
        let trusted = list("10.0.0.1");
        for named in ["127.0.0.1", "::1", "127.0.0.2", "[::1]:443"] {
            let headers = xff(&[named]);
            let client = client(ip("10.0.0.1"), &headers, &trusted);
            assert!(client.ip.is_loopback() && client.forwarded, "{named}");
            assert!(!is_local_or_trusted(client, &headers, &trusted), "{named}");
        }
        // Named by a trusted proxy, a client that is itself trusted may.
        let trusted = list("10.0.0.1,10.0.0.2");
        let proxy = client(ip("10.0.0.1"), &xff(&["10.0.0.2"]), &trusted);
        assert!(is_local_or_trusted(proxy, &HeaderMap::new(), &trusted));
        // A loopback peer that is a trusted proxy: its own requests are
        // local, a client it names is judged by the trusted list.
        let trusted = list("127.0.0.1");
        let local = client(ip("127.0.0.1"), &HeaderMap::new(), &trusted);
        assert!(is_local_or_trusted(local, &HeaderMap::new(), &trusted));
        let named = client(ip("127.0.0.1"), &xff(&["127.0.0.2"]), &trusted);
        assert!(!is_local_or_trusted(named, &HeaderMap::new(), &trusted));
        let named = client(ip("127.0.0.1"), &xff(&["203.0.113.9"]), &trusted);
        assert!(!is_local_or_trusted(named, &HeaderMap::new(), &trusted));
    }

    #[test]
    fn a_loopback_peer_must_name_this_machine() {
        let host = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::HOST, value.parse().unwrap());
            headers
        };
        for local in [
            "localhost:8080",
            "LOCALHOST",
            "127.0.0.1:3000",
            "127.8.9.1",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(names_this_machine(&host(local)), "{local}");
        }
        assert!(names_this_machine(&HeaderMap::new()));
        // DNS rebinding: another site's name, resolved to 127.0.0.1.
        for other in [
            "evil.example:8080",
            "evil.example",
            "localhost.evil.example",
            "10.0.0.1:80",
            "[2001:db8::1]:80",
        ] {
            assert!(!names_this_machine(&host(other)), "{other}");
        }
        let trusted = TrustedProxies::default();
        let peer = client(ip("127.0.0.1"), &HeaderMap::new(), &trusted);
        assert!(!is_local_or_trusted(
            peer,
            &host("evil.example:8080"),
            &trusted
        ));
        assert!(is_local_or_trusted(peer, &host("localhost:8080"), &trusted));
    }
}
