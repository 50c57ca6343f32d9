//! Requests over a raw TCP connection, for what reqwest will not send
//! (`Connection: Upgrade` with `Upgrade: h2c`, a WebSocket handshake):
//! only the response head is read.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use anyhow::{Context as _, bail};
use reqwest::Url;

use super::Http;
use crate::probe::client::TIMEOUT;

/// The longest response head read.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The head of a response read off a raw connection.
pub(crate) struct RawHead {
    pub(crate) status: u16,
    pub(crate) head: String,
}

impl RawHead {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (found, value) = line.split_once(':')?;
            found
                .trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }

    /// The status line, for messages.
    pub(crate) fn status_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }
}

impl Http {
    /// Whether the base URL is plain http (raw requests possible).
    pub(crate) fn is_plain_http(&self) -> bool {
        self.base().starts_with("http://")
    }

    /// Whether every address the base URL names is a loopback address.
    pub(crate) fn is_loopback(&self) -> bool {
        Url::parse(self.base())
            .ok()
            .and_then(|url| url.socket_addrs(|| Some(80)).ok())
            .is_some_and(|addrs| !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
    }

    /// Sends `GET path` with exactly `headers` (plus `Host`) over a fresh
    /// TCP connection and returns the response head.
    pub(crate) fn raw_get(&self, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<RawHead> {
        let (authority, addrs) = self.plain_authority()?;
        let mut stream = TcpStream::connect(&addrs[..])
            .with_context(|| format!("cannot connect to {authority}"))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .with_context(|| format!("raw GET {path}"))?;
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            if received.len() > MAX_HEAD_BYTES {
                bail!("raw GET {path}: no end of the response head in {MAX_HEAD_BYTES} bytes");
            }
            let n = stream
                .read(&mut chunk)
                .with_context(|| format!("raw GET {path}: reading the answer"))?;
            if n == 0 {
                break received.len();
            }
            received.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&received[..end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("raw GET {path}: not an HTTP answer: {head:?}"))?;
        Ok(RawHead { status, head })
    }

    /// `host[:port]` and the addresses of the base URL, when it is plain
    /// http (raw requests speak no TLS).
    fn plain_authority(&self) -> anyhow::Result<(String, Vec<SocketAddr>)> {
        let url = Url::parse(self.base())?;
        if url.scheme() != "http" {
            bail!("raw requests need an http:// base URL, not {}", self.base());
        }
        let host = url.host_str().context("the base URL has no host")?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let addrs = url
            .socket_addrs(|| Some(80))
            .with_context(|| format!("cannot resolve {authority}"))?;
        Ok((authority, addrs))
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    #[test]
    fn heads_are_read() {
        let raw = RawHead {
            status: 200,
            head: "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nX-A: b".into(),
        };
        assert_eq!(raw.header("Content-Type"), Some("text/html"));
        assert_eq!(raw.header("x-a"), Some("b"));
        assert_eq!(raw.status_line(), "HTTP/1.1 200 OK");
    }

    #[test]
    fn sends_the_headers_as_given_and_reads_only_the_head() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut chunk).unwrap();
                request.extend_from_slice(&chunk[..n]);
            }
            // A head, then bytes of another protocol that must not be read as one.
            stream
                .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\0\0\x12\x04")
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let head = Http::new(&base)
            .unwrap()
            .raw_get(
                "/",
                &[
                    ("Connection", "Upgrade, HTTP2-Settings"),
                    ("Upgrade", "h2c"),
                ],
            )
            .unwrap();
        let request = server.join().unwrap();
        assert_eq!(head.status, 101);
        assert_eq!(head.header("upgrade"), Some("h2c"));
        assert!(request.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:"));
        assert!(
            request.contains("\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n")
        );
    }
}
