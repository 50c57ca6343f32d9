//! The edge against real upstream servers on loopback: routing, headers,
//! streaming, failover, timeouts, limits, WebSockets, status and drain;
//! `hardening` covers the mock provider's route, rate limits, trusted
//! proxies and the status check; `upgrades` WebSockets only where declared;
//! `connections` the connection caps (in all, per client, tunnels) and
//! HTTP/2 limits; `cache` the cache of anonymous public pages;
//! `upstream_http1` the edge's HTTP/1.1 to zones against a hand-written one;
//! `client_http1` its HTTP/1.1 to clients from a raw socket, and what it
//! hands to hyper.

#![allow(clippy::unwrap_used)] // test set-up failing is a test failure

mod cache;
mod client_http1;
mod connections;
mod hardening;
mod support;
mod upgrades;
mod upstream_http1;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
use axum::routing::get;
use edge::EdgeOptions;
use futures_util::{SinkExt as _, StreamExt as _, stream};
use http::StatusCode;
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use support::{Setup, Stack, serve_router, spawn_edge};

#[tokio::test]
async fn routes_each_prefix_to_its_zone() {
    let stack = Stack::start().await;
    for (path, zone) in [
        ("/auth/login?return_to=%2Fshop", "identity"),
        // No mock provider configured: its prefix is an ordinary public path.
        ("/mock-idp/authorize", "public"),
        ("/shop", "shop"),
        ("/shop/pkg/app.wasm", "shop"),
        ("/shopping", "public"),
        ("/", "public"),
        ("/account-area", "public"),
    ] {
        let (status, headers, body) = stack.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["x-upstream"], format!("{zone}-0"), "{path}");
        assert!(
            body.starts_with(&format!("{zone}-0 {path}\n")),
            "{path}: {body}"
        );
    }
}

/// The forwarding headers the edge sends a zone for a request from the
/// test client to `localhost:8080`.
const EDGE_FORWARDING: [&str; 4] = [
    "x-forwarded-for: 127.0.0.1",
    "x-forwarded-proto: http",
    "x-forwarded-host: localhost:8080",
    "forwarded: for=127.0.0.1;proto=http;host=\"localhost:8080\"",
];

#[tokio::test]
async fn sets_forwarded_headers_and_drops_spoofs_and_hop_by_hop() {
    let stack = Stack::start().await;
    let request = stack
        .request("/shop")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-host", "evil.example")
        .header("connection", "x-client-hop")
        .header("x-client-hop", "1")
        .header("x-request-id", "trace-42")
        .header("cookie", "auth.session-token=abc")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = stack.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = body.lines().collect();
    for expected in EDGE_FORWARDING.into_iter().chain([
        "host: localhost:8080",
        "cookie: auth.session-token=abc",
        "x-request-id: trace-42",
    ]) {
        assert!(lines.contains(&expected), "missing {expected:?} in {body}");
    }
    assert!(
        !body.contains("6.6.6.6") && !body.contains("evil.example"),
        "{body}"
    );
    assert!(!body.contains("x-client-hop"), "{body}");
    assert!(
        headers.get("x-upstream-hop").is_none(),
        "response hop-by-hop header leaked"
    );
    assert_eq!(headers["x-request-id"], "trace-42");
}

#[tokio::test]
async fn a_plain_get_has_its_spoofed_forwarding_headers_replaced_too() {
    // No `Connection` option beyond keep-alive: the edge's own HTTP/1.1
    // path (`client_http1`) takes this one, not hyper. Every forged
    // header comes twice.
    let stack = Stack::start().await;
    let mut request = stack.request("/shop");
    for (name, value) in [
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "for=6.6.6.6;host=evil.example"),
        ("x-request-id", "forged-1"),
    ] {
        request = request.header(name, value).header(name, value);
    }
    let (status, headers, body) = stack.send(request.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = body.lines().collect();
    for expected in EDGE_FORWARDING {
        assert_eq!(
            lines.iter().filter(|line| **line == expected).count(),
            1,
            "{expected:?} once in {body}"
        );
    }
    assert!(
        !body.contains("6.6.6.6") && !body.contains("evil.example") && !body.contains("https"),
        "{body}"
    );
    // A plain id from the client is kept (its first), and sent on once.
    assert_eq!(headers["x-request-id"], "forged-1");
    let ids: Vec<&&str> = lines
        .iter()
        .filter(|line| line.starts_with("x-request-id:"))
        .collect();
    assert_eq!(ids, [&"x-request-id: forged-1"], "{body}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_html_gets_security_headers() {
    let stack = Stack::with(Setup {
        shop: vec![false],
        ..Setup::default()
    })
    .await;
    let (_, headers, _) = stack.get("/").await;
    assert_eq!(headers["x-request-id"].len(), 24, "generated");
    let (status, headers, _) = stack.get("/shop").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
}

#[tokio::test]
async fn streams_response_bodies() {
    let stack = Stack::start().await;
    let started = Instant::now();
    let response = stack
        .client
        .request(stack.request("/shop/stream").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first_at = started.elapsed();
    assert_eq!(first, "first");
    let second = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(second, "second");
    // The first chunk arrived before the upstream had produced the second:
    // nothing buffered the whole response. (Ordering, not a speed target.)
    assert!(
        first_at < Duration::from_millis(450),
        "first chunk waited for the second"
    );
}

#[tokio::test]
async fn a_zone_that_is_down_gets_the_502_page_and_others_keep_working() {
    let stack = Stack::with(Setup {
        shop: vec![false],
        ..Setup::default()
    })
    .await;
    let (status, headers, body) = stack.get("/shop/cart").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("The shop zone is not answering"), "{body}");
    assert!(
        body.contains("--color-brand"),
        "error page uses the shared tokens"
    );
    let (status, headers, _) = stack.get("/account-area").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-upstream"], "public-0");
}

#[tokio::test]
async fn under_development_a_zone_that_is_down_gets_a_page_that_waits_for_it() {
    let stack = Stack::with(Setup {
        shop: vec![false],
        dev_waiting_page: true,
        ..Setup::default()
    })
    .await;
    let (status, headers, body) = stack.get("/shop/cart").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(body.contains("The shop zone is starting"), "{body}");
    // It reloads by itself once the zone answers its health check.
    assert!(body.contains(r#"h="/shop/api/health""#), "{body}");
    assert!(body.contains("location.reload()"), "{body}");
    assert!(body.contains(r#"http-equiv="refresh""#), "{body}");
    assert!(body.contains("--color-brand"), "the shared tokens");
    // The zones that answer are served as always.
    let (status, _, _) = stack.get("/account-area").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn under_development_a_failed_build_is_shown_on_page_loads_until_it_builds_again() {
    let stack = Stack::with(Setup {
        dev_waiting_page: true,
        ..Setup::default()
    })
    .await;
    let builds = "/_edge/dev/builds/shop";
    let navigate = |path: &str| {
        stack
            .request(path)
            .header("sec-fetch-mode", "navigate")
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap()
    };
    // The edge remembers which zone served the last page.
    let (status, _, _) = stack.send(navigate("/shop/page")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, json) = stack.get("/_edge/status").await;
    assert!(json.contains(r#""last_page":"shop""#), "{json}");
    // cargo xtask dev reports a failed build.
    let failure = "error[E0308]: mismatched types <i32>\n --> zones/shop/src/cart.rs:7:9";
    let put = stack
        .request(builds)
        .method("PUT")
        .body(Body::from(failure))
        .unwrap();
    assert_eq!(stack.send(put).await.0, StatusCode::NO_CONTENT);
    // Page loads get the error, escaped, on the waiting page...
    let (status, headers, body) = stack.send(navigate("/shop/page")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["cache-control"], "no-store");
    assert!(body.contains("The shop zone did not build"), "{body}");
    assert!(body.contains("mismatched types &lt;i32&gt;"), "{body}");
    assert!(body.contains("zones/shop/src/cart.rs:7:9"), "{body}");
    // ...which polls for the build state.
    let (status, _, json) = stack.get(builds).await;
    assert_eq!(status, StatusCode::OK);
    assert!(json.contains("zones/shop/src/cart.rs:7:9"), "{json}");
    // Other requests and other zones are served as always.
    assert_eq!(stack.get("/shop/page").await.0, StatusCode::OK);
    assert_eq!(
        stack.send(navigate("/account-area")).await.0,
        StatusCode::OK
    );
    // Once it builds, the zone is served again.
    let delete = stack
        .request(builds)
        .method("DELETE")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(delete).await.0, StatusCode::NO_CONTENT);
    assert_eq!(stack.send(navigate("/shop/page")).await.0, StatusCode::OK);
    assert!(stack.get(builds).await.2.contains(r#""failure":null"#));
}

#[tokio::test]
async fn under_development_only_this_machine_reports_builds() {
    // Behind a trusted proxy, a client it names is not this machine.
    let stack = Stack::with(Setup {
        dev_waiting_page: true,
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..Setup::default()
    })
    .await;
    let put = stack
        .request("/_edge/dev/builds/shop")
        .method("PUT")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::from("error: forged"))
        .unwrap();
    assert_eq!(stack.send(put).await.0, StatusCode::FORBIDDEN);
    let page = stack
        .request("/shop/page")
        .header("sec-fetch-mode", "navigate")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(page).await.0, StatusCode::OK);
    // An unknown zone, an empty report.
    let unknown = stack
        .request("/_edge/dev/builds/billing")
        .method("PUT")
        .body(Body::from("error"))
        .unwrap();
    assert_eq!(stack.send(unknown).await.0, StatusCode::NOT_FOUND);
    let empty = stack
        .request("/_edge/dev/builds/shop")
        .method("PUT")
        .body(Body::empty())
        .unwrap();
    assert_eq!(stack.send(empty).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn in_production_there_are_no_build_reports() {
    let stack = Stack::start().await;
    let (_, _, json) = stack.get("/_edge/status").await;
    assert!(!json.contains("last_page"), "{json}");
    let put = stack
        .request("/_edge/dev/builds/shop")
        .method("PUT")
        .body(Body::from("error"))
        .unwrap();
    // Not an edge route: it goes to the zone that owns the path, like any other.
    let (_, headers, _) = stack.send(put).await;
    assert!(headers.contains_key("x-upstream"), "{headers:?}");
}

#[tokio::test]
async fn round_robin_over_instances_and_failover_past_a_dead_one() {
    let stack = Stack::with(Setup {
        shop: vec![true, true],
        ..Setup::default()
    })
    .await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(
            stack.get("/shop").await.1["x-upstream"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(seen, ["shop-0", "shop-1", "shop-0", "shop-1"]);

    let stack = Stack::with(Setup {
        shop: vec![false, true],
        ..Setup::default()
    })
    .await;
    for _ in 0..4 {
        let (status, headers, _) = stack.get("/shop").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a GET is retried on the live instance"
        );
        assert_eq!(headers["x-upstream"], "shop-1");
    }
    let status = stack
        .edge_state
        .routes()
        .resolve("/shop")
        .upstreams
        .status();
    assert!(
        !status[0].up
            && status[0]
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("connect")
    );
    assert!(status[1].up);
}

#[tokio::test]
async fn a_slow_upstream_gets_the_504_page() {
    let stack = Stack::with(Setup {
        response_timeout: Some(Duration::from_millis(300)),
        ..Setup::default()
    })
    .await;
    let (status, _, body) = stack.get("/shop/slow").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(body.contains("took too long"), "{body}");
    // The deadline is kept with each pooled connection and moved for
    // every request: a connection that answered in time before still
    // times out, and one that answers in time afterwards is not cut off.
    for _ in 0..3 {
        assert_eq!(stack.get("/shop/fast").await.0, StatusCode::OK);
        // Had the first request's deadline stayed, it would pass while
        // this one (200 ms) is under way.
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(stack.get("/shop/slowish").await.0, StatusCode::OK);
        assert_eq!(stack.get("/shop/slow").await.0, StatusCode::GATEWAY_TIMEOUT);
    }
}

#[tokio::test]
async fn oversize_heads_get_431_and_bad_paths_400() {
    let stack = Stack::start().await;
    let request = stack
        .request("/shop")
        .header("x-big", "a".repeat(32 * 1024))
        .body(Body::empty())
        .unwrap();
    let response = stack.client.request(request).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    for path in ["/shop/../auth/me", "/shop/%2e%2e/auth", "/shop%2f..%2fauth"] {
        let (status, _, body) = stack.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(!body.contains("identity-0"), "{path} reached a zone");
    }
}

#[tokio::test]
async fn request_bodies_are_streamed_and_bounded() {
    let stack = Stack::with(Setup {
        max_body_bytes: Some(1024),
        ..Setup::default()
    })
    .await;
    let small = http::Request::post(format!("http://{}/shop/upload", stack.edge))
        .body(Body::from(vec![b'x'; 1000]))
        .unwrap();
    assert_eq!(stack.send(small).await.2, "1000 bytes");
    let declared = http::Request::post(format!("http://{}/shop/upload", stack.edge))
        .body(Body::from(vec![b'x'; 4096]))
        .unwrap();
    assert_eq!(stack.send(declared).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // Chunked (no Content-Length): cut off by the stream limit.
    let chunks =
        stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 512]))));
    let chunked = http::Request::post(format!("http://{}/shop/upload", stack.edge))
        .body(Body::from_stream(chunks))
        .unwrap();
    assert_eq!(stack.send(chunked).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn websockets_pass_through() {
    let stack = Stack::start().await;
    let (mut socket, response) =
        tokio_tungstenite::connect_async(format!("ws://{}/shop/ws", stack.edge))
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "hello".into(),
        ))
        .await
        .unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo: hello");
}

#[tokio::test]
async fn status_and_health_are_answered_by_the_edge_itself() {
    let stack = Stack::with(Setup {
        shop: vec![false, true],
        ..Setup::default()
    })
    .await;
    let (status, _, body) = stack.get("/_edge/health").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    stack.get("/shop").await; // the dead instance is found out
    let (status, _, body) = stack.get("/_edge/status").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let shop = json["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "shop")
        .unwrap();
    assert_eq!(shop["up"], true);
    assert_eq!(shop["prefixes"], serde_json::json!(["/shop/ws", "/shop"]));
    assert_eq!(shop["upstreams"][0]["up"], false);
    assert_eq!(shop["upstreams"][1]["up"], true);
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let mut stack = Stack::start().await;
    let mut stream = TcpStream::connect(stack.edge).await.unwrap();
    stream
        .write_all(b"GET /shop/stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stack.stop.take().unwrap().send(()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("first") && response.contains("second"),
        "{response}"
    );
    tokio::time::timeout(Duration::from_secs(5), stack.stopped.take().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(stack.edge).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn active_probes_find_a_dead_instance_without_traffic() {
    let stack = Stack::with(Setup {
        shop: vec![true, false],
        ..Setup::default()
    })
    .await;
    let group = stack.edge_state.routes().resolve("/shop").upstreams.clone();
    assert!(group.is_up(1), "instances start healthy");
    let probe = tokio::spawn(edge::health::probe_forever(
        stack.edge_state.clone(),
        Duration::from_millis(50),
    ));
    let deadline = Instant::now() + Duration::from_secs(5);
    while group.is_up(1) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    probe.abort();
    assert!(
        !group.is_up(1),
        "the probe never marked the dead instance down"
    );
    assert!(group.is_up(0));
}

#[tokio::test]
async fn clients_may_speak_h2c() {
    let stack = Stack::start().await;
    let h2: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let response = h2
        .request(stack.request("/shop").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
}

#[tokio::test]
async fn a_body_that_stalls_is_cut_off() {
    let stack = Stack::start().await;
    // Same stack shape, but an idle timeout shorter than the stream's pause.
    let routes = stack.edge_state.routes().clone();
    let options = EdgeOptions {
        idle_timeout: Duration::from_millis(200),
        ..EdgeOptions::default()
    };
    let addr = spawn_edge(routes, options).await;
    let response = stack
        .client
        .request(
            http::Request::get(format!("http://{addr}/shop/stream"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await;
    assert!(body.is_err(), "the stalled stream should have been cut off");
}

#[tokio::test]
async fn dev_live_reload_sockets_go_through_the_edge() {
    let stack = Stack::start().await;
    let reload_server = serve_router(Router::new().route(
        "/live_reload",
        get(|ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                let _ = socket.send(WsMessage::Text(r#"{"all":true}"#.into())).await;
            })
        }),
    ))
    .await;
    let options = EdgeOptions {
        dev_reload: vec![format!("shop={reload_server}").parse().unwrap()],
        ..EdgeOptions::default()
    };
    let addr = spawn_edge(stack.edge_state.routes().clone(), options).await;

    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/_edge/reload/shop"))
            .await
            .unwrap();
    let message = socket.next().await.unwrap().unwrap();
    assert_eq!(message.into_text().unwrap().as_str(), r#"{"all":true}"#);

    let client = &stack.client;
    let plain = client
        .request(
            http::Request::get(format!("http://{addr}/_edge/reload/shop"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
    let unknown = client
        .request(
            http::Request::get(format!("http://{addr}/_edge/reload/public"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
