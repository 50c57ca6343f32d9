//! Upgrades through the edge: only `Upgrade: websocket`, only on routes
//! that declare it; the zone gets `Connection: upgrade` alone; idle
//! tunnels are closed.

use std::time::Duration;

use axum::body::Body;
use edge::EdgeOptions;
use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message, protocol::Role};

use super::support::{Stack, read_head, spawn_edge};

#[tokio::test]
async fn an_h2c_upgrade_on_an_ordinary_route_is_a_plain_request() {
    let stack = Stack::start().await;
    let request = stack
        .request("/shop")
        .header("connection", "Upgrade, HTTP2-Settings")
        .header("upgrade", "h2c")
        .header("http2-settings", "AAMAAABkAARAAAAAAAIAAAAA")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = stack.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-upstream"], "shop-0");
    let seen = body.to_ascii_lowercase();
    assert!(
        !seen.contains("upgrade") && !seen.contains("http2-settings"),
        "the zone was asked to upgrade: {body}"
    );
    // An unknown token, even on the WebSocket route, is no upgrade either.
    let request = stack
        .request("/shop/ws")
        .header("connection", "upgrade")
        .header("upgrade", "foo/1")
        .body(Body::empty())
        .unwrap();
    let status = stack.send(request).await.0;
    assert!(status.is_client_error(), "{status}");
}

#[tokio::test]
async fn a_websocket_on_an_undeclared_route_is_not_switched() {
    let stack = Stack::start().await;
    match tokio_tungstenite::connect_async(format!("ws://{}/shop/chat", stack.edge)).await {
        Err(tungstenite::Error::Http(response)) => {
            assert!(response.status().is_client_error(), "{}", response.status());
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("switched protocols on a route that does not declare websocket"),
    }
    // The same socket on the declared route switches.
    assert!(
        tokio_tungstenite::connect_async(format!("ws://{}/shop/ws", stack.edge))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_zone_gets_connection_upgrade_alone() {
    let stack = Stack::start().await;
    let mut stream = TcpStream::connect(stack.edge).await.unwrap();
    stream
        .write_all(
            b"GET /shop/ws/headers HTTP/1.1\r\nHost: localhost\r\n\
              Connection: keep-alive, Upgrade, x-client-hop\r\nx-client-hop: 1\r\n\
              Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut socket =
        tokio_tungstenite::WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    let report = socket.next().await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(
        report.as_str(),
        "connection=upgrade;upgrade=websocket;x-client-hop="
    );
}

#[tokio::test]
async fn idle_websocket_tunnels_are_closed() {
    let stack = Stack::start().await;
    let options = EdgeOptions {
        idle_timeout: Duration::from_millis(300),
        ..EdgeOptions::default()
    };
    let addr = spawn_edge(stack.edge_state.routes().clone(), options).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/shop/ws"))
        .await
        .unwrap();
    socket.send(Message::Text("hello".into())).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo: hello");
    // Then nothing either way: the edge hangs up.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the idle tunnel stayed open");
}
