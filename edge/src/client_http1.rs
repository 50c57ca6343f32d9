//! The edge's side of HTTP/1.1 to clients, for the request nearly every
//! client sends: a `GET` or `HEAD` without a body. Written here because it
//! is the hot path: once the upstream side was the edge's own
//! (`upstream_http1`), hyper's server (its dispatcher, and the service
//! future it moves for every request) was the largest share of what the
//! edge itself spent on a proxied request (docs/performance.md).
//!
//! Everything else stays hyper's. The moment a head is anything but plain,
//! the connection goes to hyper's server for the rest of its life, with
//! the bytes read and not taken read again first (`rewind`). Plain means:
//! HTTP/1.1; `GET` or `HEAD`; an origin-form target; one `Host`; no
//! `Content-Length`, `Transfer-Encoding`, `Expect` or `Upgrade`; a
//! `Connection` of `keep-alive` or `close` only. So HTTP/1.0, bodies,
//! WebSockets, h2c and HTTP/2's preface are hyper's, and so is every head
//! that does not parse, has too many lines or outgrows the size bound:
//! hyper answers those (400, 431). This parser never frames a request body
//! and never answers an error of its own.
//!
//! A response goes out with its framing from the body's size
//! (`Content-Length` when known, else chunked), a `Date` when it has none,
//! and `Connection: close` when the client asked for it or the edge is
//! stopping. A small body goes out in the same write as its head.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::{Future, poll_fn};
use std::mem::MaybeUninit;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::forward::ADDED_HEADERS;
use crate::header_maps;
use crate::spans::Spans;
use crate::write_stall::write_all;

/// Header lines of a head this path takes, at most (hyper takes more).
const MAX_HEADERS: usize = 64;
/// What one read from a client asks for at least.
const READ_SIZE: usize = 8 * 1024;
/// Body data up to this size is copied after the head into one write;
/// larger data is written on its own.
const COPY_LIMIT: usize = 16 * 1024;

/// The bounds on what a client sends.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest request head; a longer one is left to hyper, which
    /// answers 431 with the same bound.
    pub max_head: usize,
    /// How long a client has to send a whole head, counted from when the
    /// edge starts waiting for it (so also between kept-alive requests).
    pub head_timeout: Duration,
    /// A response write that the client takes nothing of for this long
    /// ends the connection (`write_stall`).
    pub write_stall: Duration,
}

/// How a connection left this path.
pub enum Ended {
    /// Closed: by the client (also while its request was being answered),
    /// on an error, after `Connection: close`, on the head timeout or
    /// because the edge is stopping.
    Closed,
    /// For hyper: the connection and what was read from it and not taken.
    HandedOff(Handoff),
}

/// A connection handed to hyper.
pub struct Handoff {
    pub stream: TcpStream,
    /// Read and not taken: hyper reads it first.
    pub read: Bytes,
    /// Whether it may be HTTP/2 with prior knowledge: nothing was served
    /// on it and it opens with HTTP/2's preface. Otherwise hyper must
    /// speak HTTP/1 only, so that no connection switches protocol midway.
    pub may_be_http2: bool,
}

/// The start of HTTP/2's connection preface (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Serves plain requests on `stream` with `answer` until the connection
/// closes or carries something else. `stop` turns true when the edge
/// stops: an idle connection then closes, a busy one after its response.
pub async fn serve<A, F, B>(
    mut stream: TcpStream,
    stop: watch::Receiver<bool>,
    limits: Limits,
    mut answer: A,
) -> Ended
where
    A: FnMut(Request<axum::body::Body>) -> F,
    F: Future<Output = Response<B>>,
    B: Body<Data = Bytes>,
{
    let mut stopping = stop.clone();
    let mut stopped = pin!(stopping.wait_for(|stop| *stop));
    // One timer for the connection, moved to each head's deadline: a
    // new one per request would be registered and removed every time.
    let mut head_timer = pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let mut out = BytesMut::with_capacity(1024);
    let mut served = false;
    let hand_off = |stream: TcpStream, buf: BytesMut, served: bool| {
        let read = buf.freeze();
        let may_be_http2 = !served && read.starts_with(HTTP2_PREFACE);
        Ended::HandedOff(Handoff {
            stream,
            read,
            may_be_http2,
        })
    };
    loop {
        // The head's deadline is set when its first read would wait.
        let mut timed = false;
        // How much of this head the last parse saw: a partial head is
        // parsed again only once a line has ended in what came since, so
        // a head trickled in a byte at a time is not parsed once per byte.
        let mut seen = 0;
        let (request, close) = loop {
            if buf.len() > seen {
                if seen == 0 || buf[seen..].contains(&b'\n') {
                    match parse(&mut buf, limits.max_head) {
                        Parsed::Plain(request, close) => break (request, close),
                        Parsed::Partial => {}
                        Parsed::Other => return hand_off(stream, buf, served),
                    }
                }
                seen = buf.len();
                if buf.len() >= limits.max_head {
                    return hand_off(stream, buf, served); // hyper answers 431
                }
            }
            buf.reserve(READ_SIZE);
            // Most heads are already there: no timer for them.
            let read = match stream.try_read_buf(&mut buf) {
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    if !timed {
                        let deadline = Instant::now() + limits.head_timeout;
                        head_timer.as_mut().reset(deadline.into());
                        timed = true;
                    }
                    tokio::select! {
                        biased;
                        read = stream.read_buf(&mut buf) => match read {
                            Ok(read) => read,
                            Err(_) => return Ended::Closed,
                        },
                        () = &mut head_timer => return Ended::Closed,
                        _ = &mut stopped => return Ended::Closed,
                    }
                }
                Ok(read) => read,
                Err(_) => return Ended::Closed,
            };
            if read == 0 {
                return Ended::Closed;
            }
        };
        let head_request = request.method() == Method::HEAD;
        // A client that goes away cancels its request, as with hyper: the
        // exchange with the zone is dropped, its connection closed.
        let answering = pin!(answer(request));
        let response = tokio::select! {
            biased;
            response = answering => response,
            () = client_gone(&stream, &mut buf, limits.max_head) => return Ended::Closed,
        };
        let close = close || *stop.borrow();
        let mut client = Client {
            stream: &mut stream,
            out: &mut out,
            pending: &mut buf,
            max_head: limits.max_head,
            write_stall: limits.write_stall,
        };
        let reusable = client.respond(response, head_request, close).await;
        served = true;
        if close || !reusable {
            let _ = stream.shutdown().await;
            return Ended::Closed;
        }
        if out.capacity() > 4 * COPY_LIMIT {
            // A large response's buffer is not kept for the next one.
            out = BytesMut::with_capacity(1024);
        }
    }
}

/// Resolves when the client has closed the connection (or it failed)
/// while a response is under way. What the client sends meanwhile (its
/// next requests) is kept in `pending`, up to `max_head`; past that it is
/// left unread, and the client's going away is noticed by the next write.
async fn client_gone(stream: &TcpStream, pending: &mut BytesMut, max_head: usize) {
    loop {
        if pending.len() >= max_head {
            std::future::pending::<()>().await;
        }
        if poll_fn(|cx| stream.poll_read_ready(cx)).await.is_err() {
            return;
        }
        pending.reserve(READ_SIZE);
        match stream.try_read_buf(pending) {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// What one parse of the buffer found.
#[allow(clippy::large_enum_variant)] // moved once, not kept: a box would cost an allocation per request
enum Parsed {
    /// A plain request (taken out of the buffer), and whether the client
    /// asked to close after it.
    Plain(Request<axum::body::Body>, bool),
    Partial,
    /// Anything else; the buffer is as it was.
    Other,
}

/// Parses a head off the front of `buf`; one longer than `max_head` is
/// not taken (hyper answers it 431).
fn parse(buf: &mut BytesMut, max_head: usize) -> Parsed {
    // Uninitialised slots: nothing to clear on every request.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let length = match httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut parsed,
        buf,
        &mut slots,
    ) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Other,
    };
    if length > max_head || parsed.version != Some(1) {
        return Parsed::Other;
    }
    let method = match parsed.method {
        Some("GET") => Method::GET,
        Some("HEAD") => Method::HEAD,
        _ => return Parsed::Other,
    };
    let Some(target) = parsed.path.filter(|path| path.starts_with('/')) else {
        return Parsed::Other;
    };
    // Where the target and each name and value lie in the buffer: they
    // become slices of the head's bytes rather than copies.
    let base = buf.as_ptr() as usize;
    let span = |text: &[u8]| {
        let start = text.as_ptr() as usize - base;
        (start, start + text.len())
    };
    let target = span(target.as_bytes());
    let mut spans = Spans::new();
    let mut hosts = 0;
    let mut close = false;
    for header in parsed.headers.iter() {
        let name = header.name;
        if ["content-length", "transfer-encoding", "expect", "upgrade"]
            .iter()
            .any(|framing| name.eq_ignore_ascii_case(framing))
        {
            return Parsed::Other;
        }
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("connection") {
            for option in header.value.split(|&b| b == b',') {
                let option = option.trim_ascii();
                if option.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if !option.is_empty() && !option.eq_ignore_ascii_case(b"keep-alive") {
                    return Parsed::Other;
                }
            }
        }
        let (name_start, name_end) = span(name.as_bytes());
        let (value_start, value_end) = span(header.value);
        spans.push((name_start, name_end, value_start, value_end));
    }
    if hosts != 1 {
        return Parsed::Other;
    }
    let head = buf.split_to(length).freeze();
    match request(&head, target, &spans, method) {
        Some(request) => Parsed::Plain(request, close),
        None => {
            // What `http` refuses is hyper's to refuse: put the head back.
            let mut restored = BytesMut::with_capacity(head.len() + buf.len());
            restored.extend_from_slice(&head);
            restored.extend_from_slice(buf);
            *buf = restored;
            Parsed::Other
        }
    }
}

/// The request a parsed head describes, if `http` accepts its parts.
fn request(
    head: &Bytes,
    (target_start, target_end): (usize, usize),
    spans: &[(usize, usize, usize, usize)],
    method: Method,
) -> Option<Request<axum::body::Body>> {
    let uri = Uri::from_maybe_shared(head.slice(target_start..target_end)).ok()?;
    let mut headers = header_maps::take(spans.len() + ADDED_HEADERS);
    for &(name_start, name_end, value_start, value_end) in spans {
        let name = HeaderName::from_bytes(&head[name_start..name_end]).ok()?;
        let value = HeaderValue::from_maybe_shared(head.slice(value_start..value_end)).ok()?;
        headers.append(name, value);
    }
    let mut request = Request::new(axum::body::Body::empty());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Some(request)
}

/// The client's side of a connection while a response is written.
struct Client<'a> {
    stream: &'a mut TcpStream,
    /// What is being written.
    out: &'a mut BytesMut,
    /// What the client sent meanwhile (see [`client_gone`]).
    pending: &'a mut BytesMut,
    max_head: usize,
    write_stall: Duration,
}

impl Client<'_> {
    /// Writes `response`; true when the connection may carry another request
    /// (the whole response went out).
    async fn respond<B>(&mut self, response: Response<B>, head_request: bool, close: bool) -> bool
    where
        B: Body<Data = Bytes>,
    {
        let stream = &mut *self.stream;
        let out = &mut *self.out;
        let pending = &mut *self.pending;
        let max_head = self.max_head;
        let stall = self.write_stall;
        let (parts, body) = response.into_parts();
        let mut body = pin!(body);
        let status = parts.status;
        if status.is_informational() {
            // Interim answers are the exchange's to drop, and only hyper's
            // connections switch protocols: never a final response here.
            return false;
        }
        let bodiless =
            head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        // A bodiless response may say the length its body would have had
        // (RFC 9110 §8.6): the zone's first valid one, never on a 204.
        let mut stated_length = status != StatusCode::NO_CONTENT && bodiless;
        let length = body.size_hint().exact();
        out.clear();
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.extend_from_slice(b" ");
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
        let mut zone_length = false;
        let mut dated = false;
        for (name, value) in &parts.headers {
            dated |= name == DATE;
            // The framing is the edge's own.
            if name == TRANSFER_ENCODING || name == CONNECTION {
                continue;
            }
            if name == CONTENT_LENGTH {
                let valid = value.to_str().is_ok_and(|text| text.parse::<u64>().is_ok());
                if !(stated_length && valid) {
                    continue;
                }
                stated_length = false;
                zone_length = true;
            }
            push_header(out, name.as_str(), value.as_bytes());
        }
        let chunked = !bodiless && length.is_none();
        // A HEAD answered by the edge itself states its page's length.
        if let Some(length) =
            length.filter(|&length| !bodiless || (head_request && length > 0 && !zone_length))
        {
            push_header(
                out,
                "content-length",
                itoa::Buffer::new().format(length).as_bytes(),
            );
        }
        if chunked {
            push_header(out, "transfer-encoding", b"chunked");
        }
        if !dated {
            push_date(out);
        }
        if close {
            push_header(out, "connection", b"close");
        }
        out.extend_from_slice(b"\r\n");
        header_maps::give_back(parts.headers);
        if bodiless {
            // An empty body is read to its end (the access log calls it
            // complete); any other is not sent.
            if body.is_end_stream() {
                let _ = body
                    .as_mut()
                    .poll_frame(&mut Context::from_waker(Waker::noop()));
            }
            return write_all(stream, out, stall).await.is_ok();
        }
        let mut sent: u64 = 0;
        loop {
            // What is ready now joins the head; only a wait flushes first.
            let frame = match poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await {
                Poll::Ready(frame) => frame,
                Poll::Pending => {
                    if !out.is_empty() {
                        if write_all(stream, out, stall).await.is_err() {
                            return false;
                        }
                        out.clear();
                    }
                    tokio::select! {
                        biased;
                        frame = poll_fn(|cx| body.as_mut().poll_frame(cx)) => frame,
                        () = client_gone(stream, pending, max_head) => return false,
                    }
                }
            };
            let data = match frame {
                None => break,
                Some(Err(_)) => {
                    // Cut short: what was sent goes out, then the connection
                    // closes, so the client sees the response incomplete.
                    let _ = write_all(stream, out, stall).await;
                    return false;
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => data,
                    _ => continue, // trailers are not forwarded
                },
            };
            sent += data.len() as u64;
            if length.is_some_and(|length| sent > length) {
                return false; // more than the head declared: never sent
            }
            if chunked {
                let _ = write!(out, "{:x}\r\n", data.len());
            }
            if data.len() <= COPY_LIMIT {
                out.extend_from_slice(&data);
            } else {
                if write_all(stream, out, stall).await.is_err()
                    || write_all(stream, &data, stall).await.is_err()
                {
                    return false;
                }
                out.clear();
            }
            if chunked {
                out.extend_from_slice(b"\r\n");
            }
            if out.len() >= COPY_LIMIT {
                if write_all(stream, out, stall).await.is_err() {
                    return false;
                }
                out.clear();
            }
            // A body of known length is not polled past its end.
            if body.is_end_stream() {
                break;
            }
        }
        if chunked {
            out.extend_from_slice(b"0\r\n\r\n");
        } else if length.is_some_and(|length| sent != length) {
            let _ = write_all(stream, out, stall).await;
            return false;
        }
        write_all(stream, out, stall).await.is_ok()
    }
}

fn push_header(out: &mut BytesMut, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

thread_local! {
    /// The `Date` value of the current second, made once per second.
    static NOW: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
}

/// A `Date` header for a response that has none (the edge's own answers;
/// the zones send theirs).
fn push_date(out: &mut BytesMut) {
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    NOW.with_borrow_mut(|(made_for, text)| {
        if *made_for != second || text.is_empty() {
            *made_for = second;
            *text = httpdate::fmt_http_date(now);
        }
        push_header(out, "date", text.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn parsed(head: &[u8]) -> (Parsed, BytesMut) {
        let mut buf = BytesMut::from(head);
        (parse(&mut buf, 128 * 1024), buf)
    }

    #[test]
    fn a_plain_head_is_taken_and_the_rest_left() {
        let (parsed, rest) = parsed(
            b"GET /shop?q=1 HTTP/1.1\r\nHost: example.test\r\nCookie: a=b\r\nConnection: keep-alive\r\n\r\nGET /next",
        );
        let Parsed::Plain(request, close) = parsed else {
            panic!("not taken");
        };
        assert!(!close);
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "/shop?q=1");
        assert_eq!(request.headers()["host"], "example.test");
        assert_eq!(request.headers()["cookie"], "a=b");
        assert_eq!(&rest[..], b"GET /next");
    }

    #[test]
    fn more_headers_than_are_kept_inline_all_arrive() {
        let mut head = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        let extra = crate::spans::INLINE * 2;
        for n in 0..extra {
            head.extend_from_slice(format!("X-H{n}: v{n}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let (parsed, rest) = parsed(&head);
        let Parsed::Plain(request, _) = parsed else {
            panic!("not taken");
        };
        assert!(rest.is_empty());
        assert_eq!(request.headers().len(), extra + 1);
        for n in 0..extra {
            assert_eq!(
                request.headers()[format!("x-h{n}").as_str()],
                format!("v{n}")
            );
        }
    }

    #[test]
    fn close_is_read_among_the_connection_options() {
        let (parsed, _) =
            parsed(b"HEAD / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n");
        assert!(matches!(parsed, Parsed::Plain(request, true) if request.method() == Method::HEAD));
    }

    #[test]
    fn anything_but_plain_is_left_whole() {
        let heads: [&[u8]; 13] = [
            b"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-secret\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
            b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\nHost: a\r\n\x01\r\n\r\n",
        ];
        for head in heads {
            let (parsed, rest) = parsed(head);
            assert!(
                matches!(parsed, Parsed::Other),
                "{}",
                String::from_utf8_lossy(head)
            );
            assert_eq!(&rest[..], head, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_head_that_http_refuses_is_put_back() {
        // httparse takes a target of any length; `http` none over 64 KiB:
        // the head goes back to the buffer, byte for byte.
        let mut head = b"GET /".to_vec();
        head.extend(std::iter::repeat_n(b'a', 70_000));
        head.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\nGET /next");
        let (parsed, rest) = parsed(&head);
        assert!(matches!(parsed, Parsed::Other));
        assert_eq!(&rest[..], &head[..]);
    }

    #[test]
    fn a_head_over_the_bound_is_left_to_hyper() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: aaaaaaaaaa\r\n\r\n";
        let mut buf = BytesMut::from(&head[..]);
        assert!(matches!(parse(&mut buf, head.len() - 1), Parsed::Other));
        assert_eq!(&buf[..], head);
        assert!(matches!(parse(&mut buf, head.len()), Parsed::Plain(..)));
    }

    #[test]
    fn a_partial_head_waits_for_more() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n";
        let (parsed, rest) = parsed(head);
        assert!(matches!(parsed, Parsed::Partial));
        assert_eq!(&rest[..], head);
    }

    /// A connection pair: the client's end and the server's.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// `serve` with `answer` on one end of a new connection: the other
    /// end, the stop's sender and the serving task.
    async fn start<A, F, B>(
        limits: Limits,
        answer: A,
    ) -> (
        TcpStream,
        watch::Sender<bool>,
        tokio::task::JoinHandle<Ended>,
    )
    where
        A: FnMut(Request<axum::body::Body>) -> F + Send + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: Body<Data = Bytes, Error: Send> + Send + 'static,
    {
        let (client, server) = pair().await;
        let (stop, stopping) = watch::channel(false);
        let serving = tokio::spawn(serve(server, stopping, limits, answer));
        (client, stop, serving)
    }

    fn limits(head_timeout: Duration) -> Limits {
        Limits {
            max_head: 8192,
            head_timeout,
            write_stall: Duration::from_secs(60),
        }
    }

    /// Sends `head` and reads the answer to the end (the head asks to close).
    async fn answer_to(client: &mut TcpStream, head: &[u8]) -> String {
        client.write_all(head).await.unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn a_head_sent_too_slowly_is_cut_off() {
        let answered = Arc::new(AtomicUsize::new(0));
        let counter = answered.clone();
        let (mut client, _stop, serving) = start(limits(Duration::from_millis(300)), move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Response::new(http_body_util::Empty::<Bytes>::new()) }
        })
        .await;
        // A byte at a time, each well within the timeout: the deadline is
        // the whole head's, so the trickle does not keep it open.
        let started = Instant::now();
        for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaa" {
            if client.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            if serving.is_finished() {
                break;
            }
        }
        let ended = tokio::time::timeout(Duration::from_secs(2), serving)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(ended, Ended::Closed));
        assert!(started.elapsed() < Duration::from_millis(1500));
        assert_eq!(answered.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_unplain_request_is_handed_off_with_its_bytes() {
        let (mut client, _stop, serving) = start(limits(Duration::from_secs(5)), |_| async {
            Response::new(http_body_util::Full::new(Bytes::from_static(b"plain")))
        })
        .await;
        client
            .write_all(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
            .await
            .unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(2), serving)
            .await
            .unwrap()
            .unwrap();
        let Ended::HandedOff(Handoff {
            read, may_be_http2, ..
        }) = ended
        else {
            panic!("not handed off");
        };
        assert!(!may_be_http2);
        assert_eq!(
            &read[..],
            b"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
        );
        let mut answer = vec![0u8; 256];
        let n = client.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("content-length: 5\r\n"), "{answer}");
        assert!(answer.contains("date: "), "{answer}");
        assert!(answer.ends_with("\r\n\r\nplain"), "{answer}");
    }

    #[tokio::test]
    async fn a_body_of_unknown_length_is_chunked() {
        let (mut client, _stop, _) = start(limits(Duration::from_secs(5)), |_| async {
            let chunks = futures_util::stream::iter([
                Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(b"one"))),
                Ok(http_body::Frame::data(Bytes::from_static(b"three"))),
            ]);
            Response::new(http_body_util::StreamBody::new(chunks))
        })
        .await;
        let answer = answer_to(
            &mut client,
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(
            answer.contains("transfer-encoding: chunked\r\n"),
            "{answer}"
        );
        assert!(answer.contains("connection: close\r\n"), "{answer}");
        assert!(!answer.contains("content-length"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\n3\r\none\r\n5\r\nthree\r\n0\r\n\r\n"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn a_stop_closes_an_idle_connection() {
        let (mut client, stop, serving) = start(limits(Duration::from_secs(5)), |_| async {
            Response::new(http_body_util::Empty::<Bytes>::new())
        })
        .await;
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let mut answer = vec![0u8; 256];
        let n = client.read(&mut answer).await.unwrap();
        assert!(!String::from_utf8_lossy(&answer[..n]).contains("connection: close"));
        stop.send(true).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(2), serving)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(ended, Ended::Closed));
    }

    #[tokio::test]
    async fn a_stop_during_a_request_lets_it_finish_and_closes_after() {
        let (mut client, stop, serving) = start(limits(Duration::from_secs(5)), |_| async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Response::new(http_body_util::Full::new(Bytes::from_static(b"done")))
        })
        .await;
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(true).unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.contains("connection: close\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\ndone"), "{answer}");
        assert!(matches!(serving.await.unwrap(), Ended::Closed));
    }

    /// Sets its flag when dropped: whether a future was cancelled.
    struct Dropped(Arc<AtomicUsize>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_client_that_goes_away_cancels_its_request() {
        let cancelled = Arc::new(AtomicUsize::new(0));
        let flag = cancelled.clone();
        let (mut client, _stop, serving) = start(limits(Duration::from_secs(5)), move |_| {
            let guard = Dropped(flag.clone());
            async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(guard);
                Response::new(http_body_util::Empty::<Bytes>::new())
            }
        })
        .await;
        client
            .write_all(b"GET /long-poll HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(client);
        let ended = tokio::time::timeout(Duration::from_secs(2), serving)
            .await
            .expect("the request was not cancelled")
            .unwrap();
        assert!(matches!(ended, Ended::Closed));
        assert_eq!(cancelled.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_request_sent_during_a_response_is_kept_for_after_it() {
        let (mut client, _stop, _) = start(
            limits(Duration::from_secs(5)),
            |request: Request<axum::body::Body>| {
                let path = request.uri().path().to_owned();
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Response::new(http_body_util::Full::new(Bytes::from(path)))
                }
            },
        )
        .await;
        client
            .write_all(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        client
            .write_all(b"GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        let first = answer.find("/first").expect("first answered");
        let second = answer.find("/second").expect("second answered");
        assert!(first < second, "{answer}");
    }

    #[tokio::test]
    async fn bodiless_answers_state_lengths_only_where_they_may() {
        for (method, status, expected) in [
            ("GET", 204, None),
            ("GET", 304, Some("content-length: 7\r\n")),
            ("HEAD", 200, Some("content-length: 7\r\n")),
        ] {
            let (mut client, _stop, _) =
                start(limits(Duration::from_secs(5)), move |_| async move {
                    let mut response = Response::new(http_body_util::Empty::<Bytes>::new());
                    *response.status_mut() = StatusCode::from_u16(status).unwrap();
                    let headers = response.headers_mut();
                    headers.append(CONTENT_LENGTH, HeaderValue::from_static("x7"));
                    headers.append(CONTENT_LENGTH, HeaderValue::from_static("7"));
                    headers.append(CONTENT_LENGTH, HeaderValue::from_static("9"));
                    response
                })
                .await;
            let head = format!("{method} / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            let answer = answer_to(&mut client, head.as_bytes()).await;
            assert_eq!(
                answer.matches("content-length").count(),
                usize::from(expected.is_some()),
                "{method} {status}: {answer}"
            );
            if let Some(expected) = expected {
                assert!(answer.contains(expected), "{method} {status}: {answer}");
            }
            assert!(answer.ends_with("\r\n\r\n"), "{method} {status}: {answer}");
        }
    }

    #[tokio::test]
    async fn a_response_is_dated_once() {
        const ZONES: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
        for zone_dated in [false, true] {
            let (mut client, _stop, _) =
                start(limits(Duration::from_secs(5)), move |_| async move {
                    let mut response = Response::new(http_body_util::Empty::<Bytes>::new());
                    if zone_dated {
                        response
                            .headers_mut()
                            .insert(DATE, HeaderValue::from_static(ZONES));
                    }
                    response
                })
                .await;
            let answer = answer_to(
                &mut client,
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            )
            .await;
            assert_eq!(answer.matches("date: ").count(), 1, "{answer}");
            assert_eq!(answer.contains(ZONES), zone_dated, "{answer}");
        }
    }
}
