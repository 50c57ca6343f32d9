//! The edge against real upstream servers on loopback: routing, headers,
//! streaming and the 502 page when a zone is down.

#![allow(clippy::unwrap_used)] // test set-up failing is a test failure

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::routing::get;
use edge::{Edge, RouteTable, app};
use futures_util::stream;
use http::StatusCode;
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use shared_auth::Zone;
use tokio::net::TcpListener;

/// An upstream that says which zone it is and echoes the path and headers.
fn upstream(zone: Zone) -> Router {
    Router::new()
        .route(
            "/shop/stream",
            get(|| async {
                // "first", a pause, "second": the edge must pass the first
                // chunk on before the second exists.
                let chunks = stream::unfold(0u8, |step| async move {
                    match step {
                        0 => Some((Ok::<_, std::io::Error>(Bytes::from_static(b"first")), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            Some((Ok(Bytes::from_static(b"second")), 2))
                        }
                        _ => None,
                    }
                });
                Body::from_stream(chunks)
            }),
        )
        .fallback(move |request: Request| async move {
            let headers: Vec<String> = request
                .headers()
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                .collect();
            (
                [
                    ("x-zone", zone.name()),
                    ("connection", "x-upstream-hop"),
                    ("x-upstream-hop", "1"),
                ],
                format!("{zone} {}\n{}", request.uri(), headers.join("\n")),
            )
        })
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// A port nothing listens on.
async fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

struct Stack {
    edge: SocketAddr,
    client: Client<HttpConnector, Body>,
}

impl Stack {
    /// Upstreams for every zone except those in `down`, behind a fresh edge.
    async fn start(down: &[Zone]) -> Self {
        let mut addrs = Vec::new();
        for zone in Zone::ALL {
            let addr = if down.contains(&zone) {
                dead_port().await
            } else {
                serve(upstream(zone)).await
            };
            addrs.push((zone, addr));
        }
        let routes = RouteTable::from_manifest(|zone| {
            let addr = addrs.iter().find(|(z, _)| *z == zone).unwrap().1;
            Some(addr.to_string().parse().unwrap())
        })
        .unwrap();
        let edge = Edge::new(routes, Duration::from_secs(1), Duration::from_secs(5));
        let edge = serve(app(Arc::new(edge))).await;
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { edge, client }
    }

    fn request(&self, path: &str) -> http::request::Builder {
        http::Request::get(format!("http://{}{path}", self.edge)).header("host", "localhost:8080")
    }

    async fn send(&self, request: http::Request<Body>) -> (StatusCode, http::HeaderMap, String) {
        let response = self.client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, http::HeaderMap, String) {
        self.send(self.request(path).body(Body::empty()).unwrap())
            .await
    }
}

#[tokio::test]
async fn routes_each_prefix_to_its_zone() {
    let stack = Stack::start(&[]).await;
    for (path, zone) in [
        ("/auth/login?return_to=%2Fshop", "identity"),
        ("/mock-idp/authorize", "identity"),
        ("/shop", "shop"),
        ("/shop/pkg/app.wasm", "shop"),
        ("/shopping", "public"),
        ("/", "public"),
        ("/account-area", "public"),
    ] {
        let (status, headers, body) = stack.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["x-zone"], zone, "{path}");
        assert!(
            body.starts_with(&format!("{zone} {path}\n")),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn sets_forwarded_headers_and_drops_spoofs_and_hop_by_hop() {
    let stack = Stack::start(&[]).await;
    let request = stack
        .request("/shop")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-host", "evil.example")
        .header("connection", "x-client-hop")
        .header("x-client-hop", "1")
        .header("cookie", "auth.session-token=abc")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = stack.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = body.lines().collect();
    assert!(lines.contains(&"x-forwarded-for: 127.0.0.1"), "{body}");
    assert!(lines.contains(&"x-forwarded-proto: http"), "{body}");
    assert!(
        lines.contains(&"x-forwarded-host: localhost:8080"),
        "{body}"
    );
    assert!(lines.contains(&"host: localhost:8080"), "{body}");
    assert!(lines.contains(&"cookie: auth.session-token=abc"), "{body}");
    assert!(
        !body.contains("6.6.6.6") && !body.contains("evil.example"),
        "{body}"
    );
    assert!(!body.contains("x-client-hop"), "{body}");
    assert!(
        headers.get("x-upstream-hop").is_none(),
        "response hop-by-hop header leaked"
    );
}

#[tokio::test]
async fn streams_response_bodies() {
    let stack = Stack::start(&[]).await;
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
    assert!(first_at < started.elapsed(), "chunks arrived together");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_zone_that_is_down_gets_the_502_page_and_others_keep_working() {
    let stack = Stack::start(&[Zone::Shop]).await;
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
    assert_eq!(headers["x-zone"], "public");
}

#[tokio::test]
async fn health_is_answered_by_the_edge_itself() {
    let stack = Stack::start(&[Zone::Public]).await;
    let (status, _, body) = stack.get("/_edge/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
}
