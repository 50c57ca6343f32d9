//! Whether a server answers ([`Probe`], [`in_use`]) and free ports for a
//! new stack ([`free_ports`]). The client that talks to the site is
//! `crate::client`.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context as _;
use reqwest::blocking::Client;

/// A readiness probe: `GET path` on a server's own address, redirects not
/// followed, two seconds at most.
pub struct Probe(Client);

impl Probe {
    pub fn new() -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(2);
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            // Always a loopback address: never through an HTTP(S)_PROXY.
            .no_proxy()
            .build()
            .context("cannot build the readiness probe's HTTP client")?;
        Ok(Self(client))
    }

    /// The status code of `GET path` on `addr`, or `None` if nothing
    /// answers (refused, timed out, not HTTP): not answering yet is what a
    /// readiness probe expects to see, not an error.
    pub fn status(&self, addr: SocketAddr, path: &str) -> Option<u16> {
        let response = self.0.get(format!("http://{addr}{path}")).send().ok()?;
        Some(response.status().as_u16())
    }
}

/// `n` distinct free TCP ports (portpicker: free on 127.0.0.1 and every
/// other address, TCP and UDP). Like any free-port pick, another process
/// may take one before our server binds it; the server then fails to
/// start and says so.
pub fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let mut ports = Vec::with_capacity(n);
    // portpicker picks at random; a repeat is possible, so pick again.
    for _ in 0..n * 10 {
        if ports.len() == n {
            break;
        }
        let port = portpicker::pick_unused_port()
            .ok_or_else(|| io::Error::other("no free TCP port on 127.0.0.1"))?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    if ports.len() < n {
        return Err(io::Error::other(format!(
            "cannot find {n} distinct free TCP ports"
        )));
    }
    Ok(ports)
}

/// True when something already listens on `addr`.
pub fn in_use(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// Test support: a server on a free loopback port that takes one
/// request, answers it with `response` (raw bytes, as sent) and hands back
/// the request's head as it arrived on the wire.
#[cfg(test)]
pub fn one_shot_server(response: &'static [u8]) -> (SocketAddr, std::thread::JoinHandle<String>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("one connection");
        let mut request = Vec::new();
        let mut chunk = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).expect("the request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&chunk[..n]);
        }
        stream.write_all(response).expect("the answer");
        String::from_utf8(request).expect("an ASCII request head")
    });
    (addr, server)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let ports = free_ports(5).unwrap();
        assert_eq!(ports.len(), 5);
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 5);
        for port in ports {
            assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "{port}");
        }
    }

    #[test]
    fn the_probe_reads_a_status_and_sees_nothing_where_nothing_listens() {
        // A redirect is an answer: the probe does not follow it.
        let (addr, server) = one_shot_server(
            b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
        );
        let probe = Probe::new().unwrap();
        assert_eq!(probe.status(addr, "/api/health"), Some(302));
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /api/health HTTP/1.1\r\n")
        );
        let nowhere = SocketAddr::from(([127, 0, 0, 1], free_ports(1).unwrap()[0]));
        assert_eq!(probe.status(nowhere, "/"), None);
        assert!(!in_use(nowhere));
    }
}
