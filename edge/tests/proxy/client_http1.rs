//! The edge's own HTTP/1.1 for plain requests, and the hand-off of
//! everything else to hyper, seen from a raw client socket.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::{Stack, read_head};

/// One response off `stream`: its head and its body (by `Content-Length`).
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let head = read_head(stream).await;
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    (head, String::from_utf8_lossy(&body).into_owned())
}

async fn connect(stack: &Stack) -> TcpStream {
    TcpStream::connect(stack.edge).await.unwrap()
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    stream
        .write_all(
            b"GET /shop/one HTTP/1.1\r\nHost: localhost\r\n\r\n\
              GET /auth/two?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Extra: a\r\nX-Extra: b\r\n\r\n",
        )
        .await
        .unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(body.starts_with("shop-0 /shop/one\n"), "{body}");
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("\r\ndate: "), "{head}");
    assert!(body.starts_with("identity-0 /auth/two?x=1\n"), "{body}");
    // Repeated headers reach the zone, each of them.
    assert!(body.contains("x-extra: a\nx-extra: b"), "{body}");
    // The connection is still open for a third.
    stream
        .write_all(b"GET /three HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (_, body) = read_response(&mut stream).await;
    assert!(body.starts_with("public-0 /three\n"), "{body}");
}

#[tokio::test]
async fn a_request_with_a_body_goes_to_hyper_on_the_same_connection() {
    let stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    // A plain GET, then a POST with a body, then a GET whose body (which
    // a GET may have) must be read as a body, not as a request.
    let hidden = "GET /shop/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let requests = format!(
        "GET /shop/before HTTP/1.1\r\nHost: localhost\r\n\r\n\
         POST /shop/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello\
         GET /shop/after HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{hidden}",
        hidden.len()
    );
    stream.write_all(requests.as_bytes()).await.unwrap();
    let (_, body) = read_response(&mut stream).await;
    assert!(body.starts_with("shop-0 /shop/before\n"), "{body}");
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "5 bytes");
    let (_, body) = read_response(&mut stream).await;
    assert!(body.starts_with("shop-0 /shop/after\n"), "{body}");
    // Nothing more: the hidden request was the GET's body.
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(
        !String::from_utf8_lossy(&rest).contains("smuggled"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn head_gets_the_length_and_no_body() {
    let stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    stream
        .write_all(b"HEAD /shop/page HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-length: 20\r\n"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    // The next response follows at once: no body bytes came in between.
    stream
        .write_all(b"GET /shop/page HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "<h1>A shop page</h1>");
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    stream
        .write_all(
            b"GET /shop/x HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all))
        .await
        .expect("the edge closes the connection")
        .unwrap();
    let all = String::from_utf8_lossy(&all);
    assert!(all.starts_with("HTTP/1.1 200"), "{all}");
    assert!(all.contains("\r\nconnection: close\r\n"), "{all}");
    assert!(all.contains("shop-0 /shop/x"), "{all}");
}

#[tokio::test]
async fn what_is_not_plain_is_answered_as_hyper_answers_it() {
    let stack = Stack::start().await;
    let cases: [(&[u8], &str); 6] = [
        // Not HTTP at all.
        (b"\x16\x03\x01garbage\r\n\r\n", " 400 "),
        // HTTP/1.0 is served.
        (b"GET /shop/old HTTP/1.0\r\n\r\n", " 200 "),
        // Two hosts.
        (b"GET /shop/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", " 200 "),
        // Both framings: read as chunked (an empty body), never as two
        // requests.
        (
            b"POST /shop/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            " 200 ",
        ),
        // A space before the colon.
        (b"GET /shop/x HTTP/1.1\r\nHost : a\r\n\r\n", " 400 "),
        // An absolute-form target.
        (
            b"GET http://localhost/shop/abs HTTP/1.1\r\nHost: localhost\r\n\r\n",
            " 200 ",
        ),
    ];
    for (request, status) in cases {
        let mut stream = connect(&stack).await;
        stream.write_all(request).await.unwrap();
        let head = tokio::time::timeout(Duration::from_secs(5), read_head(&mut stream))
            .await
            .unwrap();
        let status_line = head.lines().next().unwrap_or_default();
        assert!(
            status_line.starts_with("HTTP/1.") && status_line.contains(status),
            "{:?} → {head}",
            String::from_utf8_lossy(request)
        );
    }
}

#[tokio::test]
async fn a_head_split_over_many_writes_is_put_together() {
    let stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    for piece in [
        &b"GE"[..],
        b"T /shop/slowly HT",
        b"TP/1.1\r\nHo",
        b"st: localhost\r\n",
        b"\r\n",
    ] {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let (head, body) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.starts_with("shop-0 /shop/slowly\n"), "{body}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_does_not_hold_up_a_stop() {
    let mut stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    stream
        .write_all(b"GET /shop/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stack.stop.take().unwrap().send(()).unwrap();
    // Well within the grace period of the test options (1 s).
    tokio::time::timeout(Duration::from_millis(500), stack.stopped.take().unwrap())
        .await
        .expect("the stop waited for an idle connection")
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection was closed"
    );
}

#[tokio::test]
async fn http2_cannot_start_in_the_middle_of_an_http1_connection() {
    let stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    stream
        .write_all(
            b"GET /shop/x HTTP/1.1\r\nHost: localhost\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        )
        .await
        .unwrap();
    let (head, _) = read_response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    // Refused or closed as HTTP/1 (hyper-util's auto server would have
    // answered with an HTTP/2 SETTINGS frame).
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.is_empty() || rest.starts_with("HTTP/1.1 400"),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_request_handed_to_hyper_as_the_edge_stops_is_still_answered() {
    let mut stack = Stack::start().await;
    let mut stream = connect(&stack).await;
    // The head and part of the body: the edge has handed the connection
    // to hyper, which is reading the body, when the stop comes.
    stream
        .write_all(b"POST /shop/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhel")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stack.stop.take().unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(b"lo").await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all))
        .await
        .expect("the connection closes after its answer")
        .unwrap();
    let all = String::from_utf8_lossy(&all);
    assert!(all.starts_with("HTTP/1.1 200"), "{all}");
    assert!(all.ends_with("5 bytes"), "{all}");
}
