//! The edge's own HTTP/1.1 to the zones (`upstream_http1`, `upstream_body`,
//! `chunked`) against a zone written byte by byte: every framing a
//! response can have, interim responses, kept-alive connections the zone
//! closes, request bodies, and answers that are not HTTP at all.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use contracts::Zone;
use edge::manifest::{Manifest, RouteSpec};
use edge::{EdgeOptions, RouteTable};
use http::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::spawn_edge;

/// What the zone does after answering.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    KeepOpen,
    Close,
}

/// The zone's answer to a request for `path` (given the request as it
/// arrived, head and body), and what it does next.
fn answer(path: &str, request: &[u8]) -> (Vec<u8>, After) {
    let keep = After::KeepOpen;
    match path {
        "/chunked" => (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n".to_vec(),
            keep,
        ),
        "/until-close" => (b"HTTP/1.1 200 OK\r\n\r\nall of it".to_vec(), After::Close),
        "/close-after" => (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst".to_vec(),
            After::Close,
        ),
        "/interim" => (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            keep,
        ),
        "/interim-flood" => (
            b"HTTP/1.1 100 Continue\r\n\r\n".repeat(10_000),
            keep,
        ),
        "/garbage" => (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), After::Close),
        "/two-lengths" => (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc".to_vec(),
            After::Close,
        ),
        "/huge-head" => {
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..1000 {
                head.extend_from_slice(format!("x-filler-{i}: {}\r\n", "y".repeat(64)).as_bytes());
            }
            head.extend_from_slice(b"content-length: 0\r\n\r\n");
            (head, keep)
        }
        "/truncated" => (
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc".to_vec(),
            After::Close,
        ),
        "/bad-chunk" => (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n".to_vec(),
            After::Close,
        ),
        // Everything the zone received, head and body, as the body.
        "/echo" => {
            let mut response =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", request.len()).into_bytes();
            response.extend_from_slice(request);
            (response, keep)
        }
        _ => (
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{path}", path.len()).into_bytes(),
            keep,
        ),
    }
}

/// A zone speaking HTTP/1.1 by hand; counts the connections it accepted.
struct RawZone {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl RawZone {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_raw(stream));
            }
        });
        Self { addr, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve_raw(mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut drop_next = false;
    loop {
        let Some(request) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        if drop_next {
            // Closed under the request: read, never answered.
            return;
        }
        let head = String::from_utf8_lossy(&request);
        let path = head.split(' ').nth(1).unwrap_or("/").to_string();
        drop_next = path == "/then-drop";
        let (response, after) = answer(&path, &request);
        if stream.write_all(&response).await.is_err() || after == After::Close {
            return;
        }
    }
}

/// One request (head and body, by `Content-Length` or chunked) from
/// `stream`, `buf` holding what was read past it.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_more(stream, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let body_end = if let Some(length) = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
    {
        head_end + length.trim().parse::<usize>().ok()?
    } else if head.contains("transfer-encoding: chunked") {
        loop {
            if let Some(at) = buf[head_end..].windows(5).position(|w| w == b"0\r\n\r\n") {
                break head_end + at + 5;
            }
            read_more(stream, buf).await?;
        }
    } else {
        head_end
    };
    while buf.len() < body_end {
        read_more(stream, buf).await?;
    }
    Some(buf.drain(..body_end).collect())
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    let read = stream.read(&mut chunk).await.ok()?;
    (read > 0).then(|| buf.extend_from_slice(&chunk[..read]))
}

/// The edge in front of one raw zone that owns every prefix.
async fn edge_before(zone: &RawZone) -> SocketAddr {
    let mut manifest = Manifest::default();
    for zone_name in Zone::ALL {
        for prefix in zone_name.prefixes() {
            manifest.routes.push(RouteSpec::new(
                prefix,
                zone_name.name(),
                vec![zone.addr.to_string()],
            ));
        }
    }
    let routes = RouteTable::from_manifest(&manifest, Duration::from_millis(100)).unwrap();
    let options = EdgeOptions {
        connect_timeout: Duration::from_millis(500),
        response_timeout: Duration::from_secs(5),
        cache_bytes: 0,
        ..EdgeOptions::default()
    };
    spawn_edge(routes, options).await
}

async fn get(client: &reqwest::Client, edge: SocketAddr, path: &str) -> (StatusCode, String) {
    let response = client
        .get(format!("http://{edge}{path}"))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_body_framing_reaches_the_client_whole() {
    let zone = RawZone::start().await;
    let edge = edge_before(&zone).await;
    let client = reqwest::Client::new();
    assert_eq!(
        get(&client, edge, "/chunked").await,
        (StatusCode::OK, "hello world".into())
    );
    assert_eq!(
        get(&client, edge, "/until-close").await,
        (StatusCode::OK, "all of it".into())
    );
    // Interim responses (100, 103) are dropped; the final one goes on.
    assert_eq!(
        get(&client, edge, "/interim").await,
        (StatusCode::OK, "ok".into())
    );
    // HEAD: the zone's length, no body.
    let head = client
        .head(format!("http://{edge}/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "6");
}

#[tokio::test]
async fn kept_alive_connections_are_reused_and_replaced_once_the_zone_closes_them() {
    let zone = RawZone::start().await;
    let edge = edge_before(&zone).await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        assert_eq!(
            get(&client, edge, "/one").await,
            (StatusCode::OK, "/one".into())
        );
    }
    assert_eq!(zone.connections(), 1, "one kept-alive connection");
    // The zone closes after answering, without saying so: the next request
    // goes out on a new connection.
    assert_eq!(
        get(&client, edge, "/close-after").await,
        (StatusCode::OK, "first".into())
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    for path in ["/two", "/three"] {
        assert_eq!(
            get(&client, edge, path).await,
            (StatusCode::OK, path.into())
        );
    }
    assert_eq!(zone.connections(), 2);
    // A POST without a body (not to be sent twice) after a close, too.
    assert_eq!(
        get(&client, edge, "/close-after").await,
        (StatusCode::OK, "first".into())
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let post = client
        .post(format!("http://{edge}/after"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(zone.connections(), 3);
}

#[tokio::test]
async fn a_connection_closed_under_a_request_is_retried_only_when_that_is_safe() {
    let zone = RawZone::start().await;
    let edge = edge_before(&zone).await;
    let client = reqwest::Client::new();
    // The zone reads the next request on this connection and closes it
    // unanswered: a GET goes again on a new connection.
    assert_eq!(get(&client, edge, "/then-drop").await.0, StatusCode::OK);
    assert_eq!(
        get(&client, edge, "/again").await,
        (StatusCode::OK, "/again".into())
    );
    assert_eq!(zone.connections(), 2);
    // A POST is not sent twice, even without a body: the 502 page.
    assert_eq!(get(&client, edge, "/then-drop").await.0, StatusCode::OK);
    let post = client
        .post(format!("http://{edge}/once"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(zone.connections(), 2, "no second connection for the POST");
}

#[tokio::test]
async fn an_absolute_form_target_with_no_path_reaches_the_zone_as_slash() {
    let zone = RawZone::start().await;
    let edge = edge_before(&zone).await;
    let mut raw = TcpStream::connect(edge).await.unwrap();
    raw.write_all(
        b"GET http://localhost?q=1 HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    // The zone answers with the target it was sent.
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n/?q=1"), "{answer}");
}

#[tokio::test]
async fn answers_that_are_not_http_get_the_502_page() {
    let zone = RawZone::start().await;
    let edge = edge_before(&zone).await;
    let client = reqwest::Client::new();
    for path in ["/garbage", "/two-lengths", "/huge-head", "/interim-flood"] {
        let (status, _) = tokio::time::timeout(Duration::from_secs(5), get(&client, edge, path))
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer"));
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{path}");
    }
    // A body cut short or broken mid-way: the client's connection is cut,
    // never a complete-looking answer.
    for path in ["/truncated", "/bad-chunk"] {
        let outcome = match client.get(format!("http://{edge}{path}")).send().await {
            Ok(response) => response.bytes().await.map(|_| ()),
            Err(err) => Err(err),
        };
        assert!(outcome.is_err(), "{path}");
    }
    // And the edge goes on answering.
    assert_eq!(
        get(&client, edge, "/fine").await,
        (StatusCode::OK, "/fine".into())
    );
}

#[tokio::test]
async fn request_bodies_are_sent_with_the_edge_s_own_framing() {
    let zone = RawZone::start().await;
    let edge = edge_before(&zone).await;
    let client = reqwest::Client::new();
    let sized = client
        .post(format!("http://{edge}/echo"))
        .body("name=value")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sized.contains("content-length: 10\r\n"), "{sized}");
    assert!(sized.ends_with("\r\n\r\nname=value"), "{sized}");
    // A body of unknown length (chunked from the client) goes chunked.
    let mut raw = TcpStream::connect(edge).await.unwrap();
    raw.write_all(b"POST /echo HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst,\r\n6\r\nsecond\r\n0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    // The edge's response head, then what the zone received as its body.
    let streamed = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    assert!(
        streamed.contains("transfer-encoding: chunked\r\n"),
        "{streamed}"
    );
    assert!(!streamed.contains("content-length"), "{streamed}");
    let body = &streamed[streamed.find("\r\n\r\n").unwrap() + 4..];
    assert!(body.ends_with("\r\n0\r\n\r\n"), "{body:?}");
    let data: String = body
        .split("\r\n")
        .filter(|line| !line.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert_eq!(data, "first,second");
}
