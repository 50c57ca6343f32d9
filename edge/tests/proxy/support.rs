//! The test stack: upstream servers that say who they are, and an edge in
//! front of them on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
use axum::routing::{get, post};
use contracts::Zone;
use edge::manifest::{LimitSpec, Manifest, RouteSpec};
use edge::serve::{ServeOptions, serve};
use edge::trusted::TrustedProxies;
use edge::{Edge, EdgeOptions, RouteTable, app};
use futures_util::stream;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The one path prefix the test manifest declares for WebSockets.
pub const WS_PREFIX: &str = "/shop/ws";

/// The size of `/shop/large`: more than a client's and the edge's socket
/// buffers hold.
pub const LARGE_BYTES: usize = 32 << 20;

/// An upstream that says which zone and instance it is and echoes the
/// path and headers; plus a streaming, a slow (1.5 s) and a slowish
/// (200 ms), an upload and WebSocket routes (`/shop/ws` is declared
/// websocket in the test manifest, `/shop/chat` is not), an HTML page at
/// `/shop/page` and 32 MiB at `/shop/large`.
pub fn upstream(name: String) -> Router {
    let echo_name = name.clone();
    let echo_socket = get(|ws: WebSocketUpgrade| async move {
        ws.on_upgrade(|mut socket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                if let WsMessage::Text(text) = message {
                    let _ = socket
                        .send(WsMessage::Text(format!("echo: {text}").into()))
                        .await;
                }
            }
        })
    });
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
        .route(
            "/shop/slowish",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                "in time"
            }),
        )
        .route(
            "/shop/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "late"
            }),
        )
        .route(
            "/shop/upload",
            post(|body: Bytes| async move { format!("{} bytes", body.len()) }),
        )
        .route("/shop/large", get(|| async { vec![b'x'; LARGE_BYTES] }))
        .route(
            "/shop/page",
            get(|| async { axum::response::Html("<h1>A shop page</h1>") }),
        )
        .route("/shop/ws", echo_socket.clone())
        .route("/shop/chat", echo_socket)
        .route(
            "/shop/ws/headers",
            get(|ws: WebSocketUpgrade, headers: HeaderMap| async move {
                // Tells the client which upgrade headers arrived here.
                let seen = |name: &str| {
                    headers
                        .get_all(name)
                        .iter()
                        .map(|v| v.to_str().unwrap_or("?").to_owned())
                        .collect::<Vec<_>>()
                        .join("|")
                };
                let report = format!(
                    "connection={};upgrade={};x-client-hop={}",
                    seen("connection"),
                    seen("upgrade"),
                    seen("x-client-hop")
                );
                ws.on_upgrade(|mut socket| async move {
                    let _ = socket.send(WsMessage::Text(report.into())).await;
                })
            }),
        )
        .fallback(move |request: Request| {
            let name = echo_name.clone();
            async move {
                let headers: Vec<String> = request
                    .headers()
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                    .collect();
                let body = format!("{name} {}\n{}", request.uri(), headers.join("\n"));
                (
                    [
                        ("x-upstream", name),
                        ("connection", "x-upstream-hop".to_owned()),
                        ("x-upstream-hop", "1".to_owned()),
                    ],
                    body,
                )
            }
        })
}

pub async fn serve_router(router: Router) -> SocketAddr {
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

/// A second edge over the same routes with other options; its address.
pub async fn spawn_edge(routes: RouteTable, options: EdgeOptions) -> SocketAddr {
    spawn_edge_with(routes, options, test_serve_options()).await
}

/// The same, with other client-side limits too.
pub async fn spawn_edge_with(
    routes: RouteTable,
    options: EdgeOptions,
    serve_options: ServeOptions,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(Arc::new(Edge::new(routes, options)));
    tokio::spawn(serve(
        listener,
        router,
        serve_options,
        std::future::pending(),
    ));
    addr
}

pub fn test_serve_options() -> ServeOptions {
    ServeOptions {
        max_header_bytes: 16 * 1024,
        shutdown_grace: Duration::from_secs(1),
        ..ServeOptions::default()
    }
}

/// Reads a response head (up to the blank line) byte by byte; what came
/// before the connection closed (or was reset) otherwise.
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(_) => head.push(byte[0]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A port nothing listens on.
pub async fn dead_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

pub struct Stack {
    pub edge: SocketAddr,
    pub client: Client<HttpConnector, Body>,
    pub edge_state: Arc<Edge>,
    pub stop: Option<oneshot::Sender<()>>,
    pub stopped: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Default)]
pub struct Setup {
    /// Instances per zone: `true` = running, `false` = down.
    pub shop: Vec<bool>,
    pub response_timeout: Option<Duration>,
    pub max_body_bytes: Option<u64>,
    /// `[[limit]]`s (none by default).
    pub limits: Vec<LimitSpec>,
    /// `Some(true)`: a running mock provider; `Some(false)`: one that is down.
    pub mock_idp: Option<bool>,
    pub trusted_proxies: TrustedProxies,
    /// `Some(false)` as `--rate-limits false`.
    pub rate_limits: Option<bool>,
    /// As `--dev-waiting-page`.
    pub dev_waiting_page: bool,
}

impl Stack {
    pub async fn start() -> Self {
        Self::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Self {
        let shop = if setup.shop.is_empty() {
            vec![true]
        } else {
            setup.shop
        };
        let mut manifest = Manifest {
            limits: setup.limits,
            ..Manifest::default()
        };
        for zone in Zone::ALL {
            let alive: Vec<bool> = if zone == Zone::Shop {
                shop.clone()
            } else {
                vec![true]
            };
            let mut upstreams = Vec::new();
            for (i, up) in alive.iter().enumerate() {
                upstreams.push(instance(&format!("{zone}-{i}"), *up).await);
            }
            let route = |prefix: &str| RouteSpec {
                max_body_bytes: setup.max_body_bytes.unwrap_or(1 << 20),
                ..RouteSpec::new(prefix, zone.name(), upstreams.clone())
            };
            for prefix in zone.prefixes() {
                manifest.routes.push(route(prefix));
            }
            if zone == Zone::Shop {
                manifest.routes.push(RouteSpec {
                    websocket: true,
                    ..route(WS_PREFIX)
                });
            }
        }
        if let Some(up) = setup.mock_idp {
            manifest.mock_idp_upstream = Some(instance("mock-idp-0", up).await);
        }
        let routes = RouteTable::from_manifest(&manifest, Duration::from_secs(30)).unwrap();
        let options = EdgeOptions {
            connect_timeout: Duration::from_secs(1),
            response_timeout: setup.response_timeout.unwrap_or(Duration::from_secs(5)),
            trusted_proxies: setup.trusted_proxies,
            rate_limits: setup.rate_limits.unwrap_or(true),
            dev_waiting_page: setup.dev_waiting_page,
            ..EdgeOptions::default()
        };
        let edge_state = Arc::new(Edge::new(routes, options));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let edge = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let router = app(edge_state.clone());
        let serve_options = ServeOptions {
            shutdown_grace: Duration::from_secs(5),
            ..test_serve_options()
        };
        let task = tokio::spawn(async move {
            serve(listener, router, serve_options, async {
                let _ = stopped.await;
            })
            .await;
        });
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            edge,
            client,
            edge_state,
            stop: Some(stop),
            stopped: Some(task),
        }
    }

    pub fn request(&self, path: &str) -> http::request::Builder {
        http::Request::get(format!("http://{}{path}", self.edge)).header("host", "localhost:8080")
    }

    pub async fn send(&self, request: http::Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = self.client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        self.send(self.request(path).body(Body::empty()).unwrap())
            .await
    }
}

/// A running upstream named `name`, or a dead port.
async fn instance(name: &str, up: bool) -> String {
    let addr = if up {
        serve_router(upstream(name.to_owned())).await
    } else {
        dead_port().await
    };
    addr.to_string()
}
