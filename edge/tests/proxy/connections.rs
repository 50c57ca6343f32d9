//! The caps on client connections: in all (WebSocket tunnels included)
//! and per client address, and the HTTP/2 limits.

use std::time::Duration;

use edge::EdgeOptions;
use edge::serve::ServeOptions;
use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use super::support::{LARGE_BYTES, Stack, read_head, spawn_edge_with, test_serve_options};

const REQUEST: &[u8] = b"GET /shop HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// An edge over the test stack's routes with these client-side limits.
async fn edge_with(stack: &Stack, serve_options: ServeOptions) -> std::net::SocketAddr {
    spawn_edge_with(
        stack.edge_state.routes().clone(),
        EdgeOptions::default(),
        serve_options,
    )
    .await
}

/// A new connection that sent one request and got 200 (kept alive).
async fn served(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stream
}

/// True when a new connection is served 200 within `limit` (tried every
/// 50 ms: while the client is at its cap, each is closed at once).
async fn served_within(addr: std::net::SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let mut again = TcpStream::connect(addr).await.unwrap();
        let _ = again.write_all(REQUEST).await;
        let head = timeout(Duration::from_secs(2), read_head(&mut again))
            .await
            .unwrap_or_default();
        if head.starts_with("HTTP/1.1 200") {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True when the connection got no answer for half a second.
async fn unanswered(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    timeout(Duration::from_millis(500), stream.read(&mut byte))
        .await
        .is_err()
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let stack = Stack::start().await;
    let addr = edge_with(
        &stack,
        ServeOptions {
            max_connections: 1,
            ..test_serve_options()
        },
    )
    .await;
    let first = served(addr).await;
    // The first connection stays open (keep-alive): the second waits in
    // the listen backlog, unanswered.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(REQUEST).await.unwrap();
    assert!(
        unanswered(&mut second).await,
        "a connection past the cap was served"
    );
    drop(first);
    let head = timeout(Duration::from_secs(10), read_head(&mut second))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn a_websocket_tunnel_counts_against_the_cap_until_it_closes() {
    let stack = Stack::start().await;
    let addr = edge_with(
        &stack,
        ServeOptions {
            max_connections: 1,
            ..test_serve_options()
        },
    )
    .await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/shop/ws"))
        .await
        .unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo: hello");
    // The HTTP connection became a tunnel; it still holds the one slot.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(REQUEST).await.unwrap();
    assert!(
        unanswered(&mut second).await,
        "a connection was served while the tunnel held the only slot"
    );
    socket.send(Message::Text("still".into())).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo: still");
    // Once the tunnel closes, the waiting connection is served.
    socket.close(None).await.unwrap();
    drop(socket);
    let head = timeout(Duration::from_secs(10), read_head(&mut second))
        .await
        .expect("the slot was not given back when the tunnel closed");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn one_client_cannot_hold_every_connection() {
    let stack = Stack::start().await;
    let addr = edge_with(
        &stack,
        ServeOptions {
            max_connections_per_client: 2,
            ..test_serve_options()
        },
    )
    .await;
    let mut open = vec![served(addr).await, served(addr).await];
    // A third from the same address is closed at once, unanswered.
    let mut third = TcpStream::connect(addr).await.unwrap();
    let _ = third.write_all(REQUEST).await; // may already be closed
    let mut answer = Vec::new();
    let read = timeout(Duration::from_secs(10), third.read_to_end(&mut answer))
        .await
        .expect("the connection past the per-client cap was left open");
    assert!(
        read.is_err() || answer.is_empty(),
        "answered past the per-client cap: {}",
        String::from_utf8_lossy(&answer)
    );
    // When one closes, the client gets its slot back.
    drop(open.pop());
    assert!(
        served_within(addr, Duration::from_secs(10)).await,
        "the closed connection's slot never came back"
    );

    // A trusted proxy speaks for many clients: it is not capped per client.
    let addr = edge_with(
        &stack,
        ServeOptions {
            max_connections_per_client: 1,
            trusted_proxies: "127.0.0.1".parse().unwrap(),
            ..test_serve_options()
        },
    )
    .await;
    let _held = [served(addr).await, served(addr).await, served(addr).await];
}

#[tokio::test]
async fn http2_clients_get_explicit_limits() {
    let stack = Stack::start().await;
    // The head limit (8 KiB here) bounds HTTP/2 header lists as well.
    let addr = edge_with(
        &stack,
        ServeOptions {
            max_header_bytes: 8 * 1024,
            ..test_serve_options()
        },
    )
    .await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let url = format!("http://{addr}/shop");
    let mut client = client.ready().await.unwrap();
    let (response, _) = client
        .send_request(http::Request::get(&url).body(()).unwrap(), true)
        .unwrap();
    assert_eq!(response.await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.current_max_send_streams(), 128);
    // A header list past the limit never reaches the zone.
    let big = http::Request::get(&url)
        .header("x-big", "a".repeat(12 * 1024))
        .body(())
        .unwrap();
    let mut client = client.ready().await.unwrap();
    let answered = match client.send_request(big, true) {
        Err(_) => None,
        Ok((response, _)) => response.await.ok().map(|r| r.status()),
    };
    assert!(
        answered.is_none_or(|s| s == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        "{answered:?}"
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_its_slot_given_back() {
    let stack = Stack::start().await;
    let addr = edge_with(
        &stack,
        ServeOptions {
            max_connections_per_client: 1,
            write_stall: Duration::from_secs(1),
            ..test_serve_options()
        },
    )
    .await;
    // Through the edge's own HTTP/1.1 side, and through hyper's (which
    // takes HTTP/1.0).
    for request in [
        &b"GET /shop/large HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
        &b"GET /shop/large HTTP/1.0\r\nHost: localhost\r\n\r\n"[..],
    ] {
        let mut hoarder = TcpStream::connect(addr).await.unwrap();
        hoarder.write_all(request).await.unwrap();
        // It reads nothing: the edge's writes fill both sockets' buffers.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !served_within(addr, Duration::ZERO).await,
            "the client's one slot is not held"
        );
        assert!(
            served_within(addr, Duration::from_secs(10)).await,
            "a client that never reads kept its connection"
        );
        // What the edge sent before it gave up is far less than the page.
        let mut got = Vec::new();
        let _ = timeout(Duration::from_secs(10), hoarder.read_to_end(&mut got)).await;
        assert!(got.len() < LARGE_BYTES, "{} bytes", got.len());
    }
}

/// Sends [`REQUEST`] on `stream` and reads the whole 200 response.
async fn ask(stream: &mut TcpStream) {
    stream.write_all(REQUEST).await.unwrap();
    let head = read_head(stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("a length")
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
}

/// `/_edge/status`'s open connections per serving thread, fetched over a
/// connection of its own (which it counts).
async fn connections_per_thread(addr: std::net::SocketAddr) -> Vec<usize> {
    let status: serde_json::Value = reqwest::get(format!("http://{addr}/_edge/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::from_value(status["connections_per_thread"].clone()).unwrap()
}

#[tokio::test]
async fn connections_are_spread_evenly_over_the_serving_threads() {
    // The edge as the binary runs it: two threads, each with its own
    // `SO_REUSEPORT` listener, where the kernel's hash alone would split
    // 100 connections unevenly more than four times in five.
    let stack = Stack::start().await;
    let listeners = edge::cores::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let addr = listeners[0].local_addr().unwrap();
    let edge = std::sync::Arc::new(edge::Edge::new(
        stack.edge_state.routes().clone(),
        EdgeOptions::default(),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = std::thread::spawn(move || {
        edge::cores::run(listeners, edge, test_serve_options(), None, async {
            let _ = stopped.await;
        })
    });
    let mut kept = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        ask(&mut stream).await;
        kept.push(stream);
    }
    let spread = connections_per_thread(addr).await;
    assert_eq!(spread.len(), 2, "{spread:?}");
    assert_eq!(spread.iter().sum::<usize>(), 101, "{spread:?}");
    assert!(spread[0].abs_diff(spread[1]) <= 1, "uneven: {spread:?}");
    // Every connection, moved to the other thread or not, goes on serving.
    for stream in &mut kept {
        ask(stream).await;
    }
    // Closed connections count out of their thread.
    kept.truncate(10);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let spread = connections_per_thread(addr).await;
        if spread.iter().sum::<usize>() == 11 {
            break;
        }
        assert!(Instant::now() < deadline, "still counted: {spread:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The stop drains both threads; kept-alive idle connections close.
    stop.send(()).unwrap();
    let drained = tokio::task::spawn_blocking(move || serving.join())
        .await
        .unwrap()
        .expect("no thread panicked");
    drained.unwrap();
    for stream in &mut kept {
        let mut byte = [0; 1];
        let read = timeout(Duration::from_secs(2), stream.read(&mut byte))
            .await
            .expect("closed at the stop");
        assert_eq!(read.unwrap_or(0), 0);
    }
}
