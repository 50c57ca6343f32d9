//! The edge's defences (issue 13): the dev-only mock provider's route, rate
//! limits, the client address behind trusted proxies, the status check,
//! upgrades only where declared, idle tunnels, the connection cap and the
//! HTTP/2 limits.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use edge::EdgeOptions;
use edge::manifest::{LimitSpec, standard_limits};
use edge::serve::ServeOptions;
use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message, protocol::Role};

use super::support::{Setup, Stack, spawn_edge, spawn_edge_with, test_serve_options};

fn loopback() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

fn login_limit(burst: u32, per_second: f64) -> Vec<LimitSpec> {
    vec![LimitSpec {
        path: "/auth/login".into(),
        methods: vec!["GET".into()],
        burst,
        per_second,
    }]
}

/// Reads a response head (up to the blank line) byte by byte.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn the_mock_provider_is_routed_only_when_given_its_address() {
    let stack = Stack::start().await;
    assert_eq!(
        stack.get("/mock-idp/authorize").await.1["x-upstream"],
        "public-0"
    );

    let stack = Stack::with(Setup {
        mock_idp: Some(true),
        ..Setup::default()
    })
    .await;
    for path in [
        "/mock-idp/authorize?client_id=meridian",
        "/mock-idp/.well-known/openid-configuration",
    ] {
        let (status, headers, body) = stack.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["x-upstream"], "mock-idp-0", "{path}");
        assert!(body.starts_with(&format!("mock-idp-0 {path}\n")), "{body}");
    }
    assert_eq!(stack.get("/mock-idpx").await.1["x-upstream"], "public-0");
    assert_eq!(stack.get("/auth/login").await.1["x-upstream"], "identity-0");
    let (_, _, body) = stack.get("/_edge/status").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mock = json["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "mock-idp")
        .unwrap();
    assert_eq!(mock["prefixes"], serde_json::json!(["/mock-idp"]));

    let stack = Stack::with(Setup {
        mock_idp: Some(false),
        ..Setup::default()
    })
    .await;
    let (status, _, body) = stack.get("/mock-idp/authorize").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        body.contains("The mock identity provider is not answering"),
        "{body}"
    );
}

#[tokio::test]
async fn a_flood_gets_429_with_retry_after_then_recovers() {
    let stack = Stack::with(Setup {
        limits: login_limit(3, 1.0),
        ..Setup::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            stack.get("/auth/login?return_to=%2F").await.0,
            StatusCode::OK
        );
    }
    let (status, headers, body) = stack.get("/auth/login").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("Too many requests") && body.contains("--color-brand"));
    assert!(
        !body.contains("identity-0"),
        "the refused request reached the zone"
    );
    assert!(headers.contains_key("x-request-id"));
    // Other paths and methods are not limited.
    assert_eq!(stack.get("/auth").await.0, StatusCode::OK);
    let post = stack
        .request("/auth/login")
        .method("POST")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(post).await.0, StatusCode::OK);
    // An X-Forwarded-For from an untrusted peer does not make a new client.
    let spoofed = stack
        .request("/auth/login")
        .header("x-forwarded-for", "198.51.100.77")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(spoofed).await.0, StatusCode::TOO_MANY_REQUESTS);
    // One token per second: after Retry-After the client is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(stack.get("/auth/login").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_compiled_in_limits_cover_sign_in_and_add_to_cart() {
    let stack = Stack::with(Setup {
        limits: standard_limits(),
        ..Setup::default()
    })
    .await;
    for (method, path) in [("GET", "/auth/login"), ("POST", "/shop/api/cart/add")] {
        let mut statuses = Vec::new();
        for _ in 0..40 {
            let request = stack
                .request(path)
                .method(method)
                .body(Body::empty())
                .unwrap();
            statuses.push(stack.send(request).await.0);
        }
        assert!(
            statuses[..20].iter().all(|s| *s == StatusCode::OK),
            "{path}: the burst of 20 is served: {statuses:?}"
        );
        assert!(
            statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
            "{path}: never limited"
        );
    }
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_apart_and_limits_can_be_switched_off() {
    let stack = Stack::with(Setup {
        limits: login_limit(1, 0.01),
        trusted_proxies: vec![loopback()],
        ..Setup::default()
    })
    .await;
    let from = |chain: &str| {
        stack
            .request("/auth/login")
            .header("x-forwarded-for", chain)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(stack.send(from("203.0.113.1")).await.0, StatusCode::OK);
    assert_eq!(
        stack.send(from("203.0.113.1")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(stack.send(from("203.0.113.2")).await.0, StatusCode::OK);
    // Entries left of the proxy's are the client's own words.
    assert_eq!(
        stack.send(from("203.0.113.3, 203.0.113.1")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    let off = Stack::with(Setup {
        limits: login_limit(1, 0.01),
        rate_limits: Some(false),
        ..Setup::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(off.get("/auth/login").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn status_is_only_for_loopback_and_trusted_proxies() {
    let stack = Stack::with(Setup {
        shop: vec![false, true],
        trusted_proxies: vec![loopback()],
        ..Setup::default()
    })
    .await;
    stack.get("/shop").await; // an error to hide
    let forwarded = stack
        .request("/_edge/status")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = stack.send(forwarded).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        !body.contains("connect") && !body.contains("upstreams"),
        "{body}"
    );
    let (status, _, body) = stack.get("/_edge/status").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("connect failed"), "{body}");

    // Without trusted proxies a loopback peer's X-Forwarded-For is ignored.
    let stack = Stack::start().await;
    let forwarded = stack
        .request("/_edge/status")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(forwarded).await.0, StatusCode::OK);
}

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

#[tokio::test]
async fn connections_past_the_cap_wait_for_one_to_close() {
    let stack = Stack::start().await;
    let serve_options = ServeOptions {
        max_connections: 1,
        ..test_serve_options()
    };
    let addr = spawn_edge_with(
        stack.edge_state.routes().clone(),
        EdgeOptions::default(),
        serve_options,
    )
    .await;
    let request = b"GET /shop HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(request).await.unwrap();
    assert!(read_head(&mut first).await.starts_with("HTTP/1.1 200"));
    // The first connection stays open (keep-alive): the second waits in
    // the listen backlog, unanswered.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(request).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), second.read(&mut byte)).await;
    assert!(early.is_err(), "a connection past the cap was served");
    drop(first);
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut second))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn http2_clients_get_explicit_limits() {
    let stack = Stack::start().await;
    // The head limit (8 KiB here) bounds HTTP/2 header lists as well.
    let serve_options = ServeOptions {
        max_header_bytes: 8 * 1024,
        ..test_serve_options()
    };
    let addr = spawn_edge_with(
        stack.edge_state.routes().clone(),
        EdgeOptions::default(),
        serve_options,
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
