//! The edge cache against a real upstream on loopback: what is stored and
//! what never is (signed-in requests, `Set-Cookie`, `private`,
//! `Vary: Cookie`), stale copies while the zone is killed and fresh ones
//! once it is back, one upstream request for many concurrent misses,
//! the byte bound, purges and the status.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use contracts::Zone;
use edge::manifest::{Manifest, RouteSpec};
use edge::{EdgeOptions, RouteTable};
use http::{HeaderMap, StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::support::spawn_edge;

const PUBLIC: &str = "public, max-age=60";

/// What the upstream has served, and whether it fails on purpose.
#[derive(Clone, Default)]
struct Counts {
    served: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Counts {
    fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    fn next(&self) -> usize {
        self.served.fetch_add(1, Ordering::SeqCst) + 1
    }
}

fn cookie_of(headers: &HeaderMap) -> String {
    headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned()
}

/// The shop zone as the cache sees it: every answer numbered, so a stored
/// copy is told from a fresh one.
fn shop(counts: Counts) -> Router {
    let cached = |cache_control: &'static str| {
        get(move |State(counts): State<Counts>| async move {
            let n = counts.next();
            if counts.failing.load(Ordering::SeqCst) {
                return (StatusCode::INTERNAL_SERVER_ERROR, "broken").into_response();
            }
            (
                [(header::CACHE_CONTROL, cache_control)],
                format!("copy {n}"),
            )
                .into_response()
        })
    };
    Router::new()
        .route("/shop", cached(PUBLIC))
        .route(
            "/shop/short",
            cached("public, max-age=1, stale-while-revalidate=60"),
        )
        .route(
            "/shop/outage",
            cached("public, max-age=1, stale-if-error=60"),
        )
        .route("/shop/unmarked", cached("max-age=60"))
        .route(
            "/shop/private",
            get(
                |State(counts): State<Counts>, headers: HeaderMap| async move {
                    let n = counts.next();
                    (
                        [(header::CACHE_CONTROL, "private, no-store")],
                        format!("copy {n} for {}", cookie_of(&headers)),
                    )
                },
            ),
        )
        .route(
            "/shop/sets-cookie",
            get(|State(counts): State<Counts>| async move {
                let n = counts.next();
                (
                    [
                        (header::CACHE_CONTROL, PUBLIC),
                        (header::SET_COOKIE, "visitor=abc; Path=/"),
                    ],
                    format!("copy {n}"),
                )
            }),
        )
        .route(
            "/shop/by-cookie",
            get(
                |State(counts): State<Counts>, headers: HeaderMap| async move {
                    let n = counts.next();
                    (
                        [(header::CACHE_CONTROL, PUBLIC), (header::VARY, "Cookie")],
                        format!("copy {n} for {}", cookie_of(&headers)),
                    )
                },
            ),
        )
        .route(
            // Refreshes take a while: clients asking meanwhile get the
            // stale copy whatever their pace.
            "/shop/slow-refresh",
            get(|State(counts): State<Counts>| async move {
                let n = counts.next();
                if n > 1 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                (
                    [(
                        header::CACHE_CONTROL,
                        "public, max-age=1, stale-while-revalidate=60",
                    )],
                    format!("copy {n}"),
                )
            }),
        )
        .route(
            "/shop/slow",
            get(|State(counts): State<Counts>| async move {
                let n = counts.next();
                tokio::time::sleep(Duration::from_millis(300)).await;
                ([(header::CACHE_CONTROL, PUBLIC)], format!("copy {n}"))
            }),
        )
        .route(
            "/shop/big/{bytes}",
            get(
                |State(counts): State<Counts>, Path(bytes): Path<usize>| async move {
                    counts.next();
                    ([(header::CACHE_CONTROL, PUBLIC)], "x".repeat(bytes))
                },
            ),
        )
        .with_state(counts)
}

/// An upstream that can be killed (listener and every connection gone,
/// as when the process dies) and started again on the same port.
struct Killable {
    addr: SocketAddr,
    router: Router,
    tasks: Option<JoinSet<()>>,
}

impl Killable {
    async fn start(router: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut upstream = Self {
            addr,
            router,
            tasks: None,
        };
        upstream.serve(listener);
        upstream
    }

    fn serve(&mut self, listener: TcpListener) {
        let router = self.router.clone();
        let mut tasks = JoinSet::new();
        let connections = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
        let held = connections.clone();
        tasks.spawn(async move {
            let _held = held;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = TowerToHyperService::new(router.clone());
                connections.lock().await.spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        self.tasks = Some(tasks);
    }

    fn kill(&mut self) {
        // Dropping the set aborts the accept loop, which drops the set of
        // connections with it.
        self.tasks = None;
    }

    async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

struct CacheStack {
    edge: SocketAddr,
    counts: Counts,
    shop: Killable,
    /// The identity and public zones (one empty server).
    _others: Killable,
    client: reqwest::Client,
}

impl CacheStack {
    async fn start(cache_bytes: usize) -> Self {
        let counts = Counts::default();
        let shop = Killable::start(shop(counts.clone())).await;
        let other = Killable::start(Router::new()).await;
        let mut manifest = Manifest::default();
        for zone in Zone::ALL {
            let addr = if zone == Zone::Shop {
                shop.addr
            } else {
                other.addr
            };
            for prefix in zone.prefixes() {
                manifest
                    .routes
                    .push(RouteSpec::new(prefix, zone.name(), vec![addr.to_string()]));
            }
        }
        let routes = RouteTable::from_manifest(&manifest, Duration::from_millis(100)).unwrap();
        let options = EdgeOptions {
            connect_timeout: Duration::from_millis(500),
            response_timeout: Duration::from_secs(5),
            cache_bytes,
            ..EdgeOptions::default()
        };
        let edge = spawn_edge(routes, options).await;
        Self {
            edge,
            counts,
            shop,
            _others: other,
            client: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut request = self.client.get(format!("http://{}{path}", self.edge));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    async fn status(&self) -> serde_json::Value {
        let url = format!("http://{}/_edge/status", self.edge);
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn x_cache(headers: &HeaderMap) -> &str {
    headers.get("x-cache").map_or("-", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn public_pages_are_served_from_the_cache_with_their_age() {
    let stack = CacheStack::start(1 << 20).await;
    let (status, headers, body) = stack.get("/shop", None).await;
    assert_eq!(
        (status, body.as_str(), x_cache(&headers)),
        (StatusCode::OK, "copy 1", "MISS")
    );
    for _ in 0..3 {
        let (status, headers, body) = stack.get("/shop", None).await;
        assert_eq!(
            (status, body.as_str(), x_cache(&headers)),
            (StatusCode::OK, "copy 1", "HIT")
        );
        assert!(headers.contains_key(header::AGE));
        assert_eq!(headers[header::CACHE_CONTROL], PUBLIC);
    }
    assert_eq!(stack.counts.served(), 1);
    // Another query is another page.
    let (_, _, body) = stack.get("/shop?page=2", None).await;
    assert_eq!(body, "copy 2");
    let status = stack.status().await;
    assert_eq!(status["cache"]["entries"], 2);
    assert_eq!(status["cache"]["hits"], 3);
    assert_eq!(status["cache"]["misses"], 2);
    assert!((status["cache"]["hit_ratio"].as_f64().unwrap() - 0.6).abs() < 1e-9);
}

#[tokio::test]
async fn personal_responses_are_never_served_to_another_client() {
    let stack = CacheStack::start(1 << 20).await;
    // A signed-in request is not answered from the cache, nor stored.
    stack.get("/shop", None).await;
    let (_, headers, body) = stack.get("/shop", Some("auth.session-token=alice")).await;
    assert_eq!((body.as_str(), x_cache(&headers)), ("copy 2", "-"));
    let (_, _, body) = stack
        .get("/shop", Some("theme=dark; __Host-auth.session-jwt=x"))
        .await;
    assert_eq!(body, "copy 3");
    // `private`, `Set-Cookie`, `Vary: Cookie` and an unmarked response:
    // every request goes to the zone.
    for (path, cookie) in [
        ("/shop/private", "visitor=alice"),
        ("/shop/sets-cookie", "visitor=alice"),
        ("/shop/by-cookie", "visitor=alice"),
        ("/shop/unmarked", "visitor=alice"),
    ] {
        let before = stack.counts.served();
        let (_, _, first) = stack.get(path, Some(cookie)).await;
        let (_, headers, second) = stack.get(path, Some("visitor=bob")).await;
        assert_ne!(first, second, "{path}");
        assert!(!second.contains("alice"), "{path}: {second}");
        assert_eq!(x_cache(&headers), "MISS", "{path}");
        assert_eq!(stack.counts.served(), before + 2, "{path}");
    }
    assert_eq!(stack.status().await["cache"]["entries"], 1);
}

#[tokio::test]
async fn stale_copies_are_served_while_the_zone_is_down_and_fresh_ones_after() {
    let mut stack = CacheStack::start(1 << 20).await;
    let (_, _, body) = stack.get("/shop/outage", None).await;
    assert_eq!(body, "copy 1");
    stack.shop.kill();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Past max-age, within stale-if-error: the zone is asked, is down,
    // and the stale copy answers.
    for _ in 0..3 {
        let (status, headers, body) = stack.get("/shop/outage", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "copy 1"));
        assert_eq!(x_cache(&headers), "STALE");
        assert!(headers["warning"].to_str().unwrap().starts_with("111"));
    }
    // A page never cached gets the 502 page meanwhile.
    let (status, _, _) = stack.get("/shop/private", None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    stack.shop.restart().await;
    // Passive health keeps the instance out for its cool-down (100 ms).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, headers, body) = stack.get("/shop/outage", None).await;
    assert_eq!(
        (status, body.as_str(), x_cache(&headers)),
        (StatusCode::OK, "copy 2", "MISS")
    );
    // A zone answering 5xx is an error too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    stack.counts.failing.store(true, Ordering::SeqCst);
    let (status, headers, body) = stack.get("/shop/outage", None).await;
    assert_eq!(
        (status, body.as_str(), x_cache(&headers)),
        (StatusCode::OK, "copy 2", "STALE")
    );
}

#[tokio::test]
async fn stale_while_revalidate_answers_at_once_and_refreshes_once() {
    let stack = CacheStack::start(1 << 20).await;
    stack.get("/shop/slow-refresh", None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answers =
        futures_util::future::join_all((0..10).map(|_| stack.get("/shop/slow-refresh", None)))
            .await;
    for (status, headers, body) in &answers {
        assert_eq!(
            (*status, body.as_str(), x_cache(headers)),
            (StatusCode::OK, "copy 1", "STALE")
        );
    }
    // One background refresh, whose answer is then served fresh.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.counts.served(), 2);
    let (_, headers, body) = stack.get("/shop/slow-refresh", None).await;
    assert_eq!((body.as_str(), x_cache(&headers)), ("copy 2", "HIT"));
}

#[tokio::test]
async fn concurrent_misses_collapse_into_one_upstream_request() {
    let stack = CacheStack::start(1 << 20).await;
    let answers =
        futures_util::future::join_all((0..20).map(|_| stack.get("/shop/slow", None))).await;
    for (status, _, body) in &answers {
        assert_eq!((*status, body.as_str()), (StatusCode::OK, "copy 1"));
    }
    assert_eq!(stack.counts.served(), 1, "one request reached the zone");
}

#[tokio::test]
async fn a_client_that_never_reads_holds_back_no_one() {
    let stack = CacheStack::start(64 << 20).await;
    // Far more than the sockets between them can buffer.
    let path = "/shop/big/6000000";
    let mut stalled = tokio::net::TcpStream::connect(stack.edge).await.unwrap();
    // The same host as the others' (the host is part of the key).
    let head = format!("GET {path} HTTP/1.1\r\nhost: {}\r\n\r\n", stack.edge);
    tokio::io::AsyncWriteExt::write_all(&mut stalled, head.as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let others = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::future::join_all((0..3).map(|_| stack.get(path, None))),
    )
    .await
    .expect("the others are answered while the first client reads nothing");
    for (status, headers, body) in others {
        assert_eq!((status, body.len()), (StatusCode::OK, 6_000_000));
        assert_eq!(x_cache(&headers), "HIT");
    }
    assert_eq!(stack.counts.served(), 1);
    drop(stalled);
}

#[tokio::test]
async fn odd_hosts_and_edge_errors_do_not_touch_the_cache() {
    let stack = CacheStack::start(1 << 20).await;
    stack.get("/shop", None).await;
    // A host that would make "/" look like "/shop" goes past the cache.
    let response = stack
        .client
        .get(format!("http://{}/", stack.edge))
        .header(header::HOST, "localhost/shop")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("x-cache").is_none());
    let (_, headers, body) = stack.get("/shop", None).await;
    assert_eq!((body.as_str(), x_cache(&headers)), ("copy 1", "HIT"));
    // A GET with a body is not what its key describes: past the cache.
    let with_body = stack
        .client
        .get(format!("http://{}/shop", stack.edge))
        .body("which=other")
        .send()
        .await
        .unwrap();
    assert!(with_body.headers().get("x-cache").is_none());
    assert_eq!(with_body.text().await.unwrap(), "copy 2");
    // The edge's own 413 (anyone can provoke one) does not mark a page to
    // be passed through: misses of it still collapse afterwards.
    let mut raw = tokio::net::TcpStream::connect(stack.edge).await.unwrap();
    let head = format!(
        "GET /shop/slow HTTP/1.1\r\nhost: {}\r\ncontent-length: 99999999999\r\n\r\n",
        stack.edge
    );
    tokio::io::AsyncWriteExt::write_all(&mut raw, head.as_bytes())
        .await
        .unwrap();
    let answer = crate::support::read_head(&mut raw).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let before = stack.counts.served();
    futures_util::future::join_all((0..5).map(|_| stack.get("/shop/slow", None))).await;
    assert_eq!(stack.counts.served(), before + 1);
}

#[tokio::test]
async fn the_byte_bound_holds() {
    let stack = CacheStack::start(64 * 1024).await;
    // Each page is 4 KB; 40 of them are 160 KB, over the 64 KiB bound.
    for i in 0..40 {
        stack.get(&format!("/shop/big/{}", 4000 + i), None).await;
    }
    let status = stack.status().await["cache"].clone();
    let bytes = status["bytes"].as_u64().unwrap();
    assert!(bytes <= 64 * 1024, "{status}");
    assert!(status["entries"].as_u64().unwrap() >= 10, "{status}");
    // The latest are kept, the first went.
    let (_, headers, _) = stack.get("/shop/big/4039", None).await;
    assert_eq!(x_cache(&headers), "HIT");
    let (_, headers, _) = stack.get("/shop/big/4000", None).await;
    assert_eq!(x_cache(&headers), "MISS");
    // Larger than an eighth of the bound: passed through, never stored.
    stack.get("/shop/big/9000", None).await;
    let (_, headers, _) = stack.get("/shop/big/9000", None).await;
    assert_eq!(x_cache(&headers), "MISS");
}

#[tokio::test]
async fn purges_are_for_this_machine_and_take_a_prefix_or_a_tag() {
    let stack = CacheStack::start(1 << 20).await;
    stack.get("/shop", None).await;
    stack.get("/shop/short", None).await;
    let purge = |body: &'static str, content_type: &'static str| {
        stack
            .client
            .post(format!("http://{}/_edge/purge", stack.edge))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    // A form post (what another site could make a browser send) is refused.
    let response = purge("prefix=/shop", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for bad in [
        r#"{}"#,
        r#"{"prefix": "shop/"}"#,
        r#"{"prefix": "/x", "all": true}"#,
        "nope",
    ] {
        let response = purge(bad, "application/json").await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let response = purge(r#"{"prefix": "/shop"}"#, "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["purged"], 2);
    let (_, headers, body) = stack.get("/shop", None).await;
    assert_eq!((body.as_str(), x_cache(&headers)), ("copy 3", "MISS"));
    // A page whose own name resolves to 127.0.0.1 (DNS rebinding) is
    // another site, even from this machine.
    let rebound = stack
        .client
        .post(format!("http://{}/_edge/purge", stack.edge))
        .header(header::HOST, "evil.example:8080")
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"prefix": "/"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    assert_eq!(stack.status().await["cache"]["entries"], 1);
}

#[tokio::test]
async fn with_no_bytes_there_is_no_cache() {
    let stack = CacheStack::start(0).await;
    for n in 1..=2 {
        let (_, headers, body) = stack.get("/shop", None).await;
        assert_eq!(body, format!("copy {n}"));
        assert_eq!(x_cache(&headers), "-");
    }
    assert!(stack.status().await["cache"].is_null());
}
