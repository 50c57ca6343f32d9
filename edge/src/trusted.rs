//! `--trusted-proxies`: the load balancers or ingress pods in front of the
//! edge, as single addresses or CIDR ranges (`10.0.0.0/8,::1`), since
//! ingress pods change addresses. From them `X-Forwarded-For` is believed
//! (see `client_ip`) and extended (see `forward::Forwarding`); they may
//! read `/_edge/status`; the per-client connection cap does not apply to
//! them.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};

/// One entry of the list: an address (a range of one) or a CIDR range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNet(IpNet);

impl FromStr for ProxyNet {
    type Err = String;

    /// `10.1.2.3`, `::1`, `10.0.0.0/8`, `fd00::/8`. A range with host bits
    /// set (`10.1.2.3/8`) is refused as a likely typo, and so is a `/0`
    /// (it would let every client name its own address).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self(IpNet::from(ip.to_canonical())));
        }
        let net = text.parse::<IpNet>().map_err(|_| {
            format!("`{text}` is not an IP address or CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)")
        })?;
        if net.addr() != net.network() {
            return Err(format!(
                "`{text}` has host bits set: the range is {}",
                net.trunc()
            ));
        }
        if net.prefix_len() == 0 {
            return Err(format!(
                "`{text}` would trust every address: list the proxies' own range"
            ));
        }
        Ok(Self(canonical(net)))
    }
}

impl From<IpAddr> for ProxyNet {
    fn from(ip: IpAddr) -> Self {
        Self(IpNet::from(ip.to_canonical()))
    }
}

impl std::fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) as the IPv4 range it
/// is, since peers are compared in their canonical form.
fn canonical(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .network()
            .to_ipv4_mapped()
            .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        _ => net,
    }
}

/// The whole list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ProxyNet>);

impl TrustedProxies {
    /// Whether `ip` (in any form: `::ffff:10.0.0.1` is `10.0.0.1`) lies in
    /// one of the ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.0.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<ProxyNet> for TrustedProxies {
    fn from_iter<I: IntoIterator<Item = ProxyNet>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list, as `EDGE_TRUSTED_PROXIES` takes it.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',').map(str::parse).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_and_single_addresses() {
        let trusted: TrustedProxies = "10.0.0.0/8, ::1, 192.0.2.7, fd00:1::/32".parse().unwrap();
        for inside in [
            "10.0.0.1",
            "10.244.3.17",
            "10.255.255.255",
            "::1",
            "192.0.2.7",
            "fd00:1:2::9",
            // A dual-stack socket's form of an IPv4 peer.
            "::ffff:10.9.8.7",
        ] {
            assert!(trusted.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "127.0.0.1", "192.0.2.8", "fd00:2::1", "::2"] {
            assert!(!trusted.contains(ip(outside)), "{outside}");
        }
        assert!(!TrustedProxies::default().contains(ip("10.0.0.1")));
    }

    #[test]
    fn mapped_forms_are_their_ipv4_selves() {
        let trusted: TrustedProxies = "::ffff:10.0.0.0/104,::ffff:127.0.0.1".parse().unwrap();
        assert!(trusted.contains(ip("10.1.2.3")));
        assert!(trusted.contains(ip("127.0.0.1")));
        assert!(!trusted.contains(ip("11.1.2.3")));
    }

    #[test]
    fn typos_and_everyone_are_refused() {
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "0.0.0.0/0",
            "::/0",
            "ingress",
            "10.0.0.0/",
        ] {
            assert!(bad.parse::<ProxyNet>().is_err(), "{bad}");
        }
        let err = "10.1.2.3/8".parse::<ProxyNet>().unwrap_err();
        assert!(err.contains("10.0.0.0/8"), "{err}");
        assert_eq!(
            "10.0.0.0/8".parse::<ProxyNet>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            ProxyNet::from(ip("10.0.0.1")).to_string(),
            "10.0.0.1/32",
            "an address is a range of one"
        );
    }
}
