//! Who the client is: the address rate limits count and `/_edge/status`
//! checks. The peer, unless the peer is a trusted proxy: then the
//! right-most `X-Forwarded-For` entry that is not a trusted proxy (entries
//! left of it were written by the client and prove nothing).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;

use crate::forward::X_FORWARDED_FOR;

/// What stands for a client whose address a trusted proxy garbled: never
/// loopback, never trusted, one shared rate-limit bucket.
pub const UNKNOWN_CLIENT: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// The client's address (see the module doc).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    // `::ffff:127.0.0.1` from a dual-stack socket is 127.0.0.1.
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.to_str().map_or(vec!["?"], |v| v.split(',').collect()))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry).map(|ip| ip.to_canonical()) {
            Some(ip) if trusted.contains(&ip) => client = ip,
            Some(ip) => return ip,
            None => return UNKNOWN_CLIENT,
        }
    }
    client
}

/// Whether the client may see the edge's own diagnostics.
pub fn is_local_or_trusted(client: IpAddr, trusted: &[IpAddr]) -> bool {
    !client.is_unspecified() && (client.is_loopback() || trusted.contains(&client))
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

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(&X_FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let headers = xff(&["198.51.100.7"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &headers, &[ip("10.0.0.1")]),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client wrote 6.6.6.6 itself; 10.0.0.2 passed it on.
        let headers = xff(&["6.6.6.6, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("203.0.113.9")
        );
        let headers = xff(&["[2001:db8::7]:443", "198.51.100.1:80"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_peer_without_forwarding_is_itself() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &xff(&["10.0.0.2"]), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn garbage_is_an_unknown_client_never_a_trusted_one() {
        let trusted = [ip("127.0.0.1")];
        let headers = xff(&["not-an-ip"]);
        let client = client_ip(ip("127.0.0.1"), &headers, &trusted);
        assert_eq!(client, UNKNOWN_CLIENT);
        assert!(!is_local_or_trusted(client, &trusted));
    }

    #[test]
    fn diagnostics_are_for_loopback_and_trusted_proxies() {
        let trusted = [ip("10.0.0.1")];
        assert!(is_local_or_trusted(ip("127.0.0.1"), &trusted));
        assert!(is_local_or_trusted(ip("::1"), &trusted));
        assert!(is_local_or_trusted(ip("10.0.0.1"), &trusted));
        assert!(!is_local_or_trusted(ip("203.0.113.9"), &trusted));
        assert!(!is_local_or_trusted(ip("::"), &[ip("::")]));
    }
}
