//! How xtask reaches a stack over the network: a minimal HTTP probe (std
//! only) to tell when a server answers, free ports for a new stack, and
//! [`client`], the one client for the site through the edge (its cookies
//! and the sign-in through the mock provider) that the load generator,
//! verify-auth and the benchmarks share.

pub mod client;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The status code of `GET path` on `addr`, or `None` if nothing answers.
pub fn status(addr: SocketAddr, path: &str) -> Option<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 64];
    let mut read = 0;
    while read < 12 {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => read += n,
        }
    }
    // "HTTP/1.1 200 OK"
    let line = std::str::from_utf8(&head[..read]).ok()?;
    line.split(' ').nth(1)?.get(..3)?.parse().ok()
}

/// Reserves `n` distinct free TCP ports on 127.0.0.1 (bound together, then
/// released, so they differ from each other).
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// True when something already listens on `addr`.
pub fn in_use(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}
