//! The edge's side of HTTP/1.1 to a zone, written here because it is the
//! hot path: one connection ([`Upstream`]) is driven by the request that
//! holds it, inside that request's own task. hyper's client runs each
//! connection as a task of its own and hands every request, response and
//! body chunk across a channel to it; on a proxy that does nothing else
//! those hand-offs were the largest share of a request's CPU after the
//! kernel's (docs/performance.md).
//!
//! What is written: the request head (the client's request, already
//! checked by hyper's server, with the forwarding headers the exchange
//! set), its body with `Content-Length` or chunked framing, and the
//! response head parsed with `httparse` into `http` types, bounded in size.
//! What the response body's framing is follows RFC 9112 §6.3; reading it
//! is `upstream_body`'s.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf as _, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use http_body::Body as _;
use http_body_util::BodyExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::forward::{ADDED_HEADERS, Forwarding};
use crate::header_maps;
use crate::spans::Spans;

/// The largest response head accepted from a zone.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Response header lines accepted at most.
const MAX_RESPONSE_HEADERS: usize = 128;
/// What one read from a zone asks for at least.
pub const READ_SIZE: usize = 16 * 1024;

/// One open HTTP/1.1 connection to an instance, with the bytes read from
/// it and not yet used, and a buffer for what is written to it (kept, so a
/// request head costs no allocation).
pub struct Upstream {
    pub(crate) stream: TcpStream,
    pub(crate) buf: BytesMut,
    out: BytesMut,
    /// The deadline of the response head to the request under way
    /// (`upstream_connection`), kept with the connection: moving a timer
    /// that is still registered to a later deadline is a few instructions,
    /// where a new timer per request was registered and removed under the
    /// timer driver's lock each time (about 2% of the edge's own
    /// instructions on a proxied request).
    pub(crate) response_timer: Option<Pin<Box<Sleep>>>,
}

/// How a response's body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: a `HEAD` request, 1xx, 204 or 304.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the zone closes the connection.
    UntilClose,
    /// 101: the connection now carries another protocol.
    Upgraded,
}

/// A parsed response head.
pub struct Head {
    pub parts: http::response::Parts,
    pub framing: Framing,
    /// The connection may carry another request after this response.
    pub keep_alive: bool,
}

/// What one parse of the buffer found.
enum Parsed {
    Final(Head),
    /// A 1xx head of this many bytes, dropped.
    Interim(usize),
    Partial,
}

/// Why a response could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The zone closed the connection before sending a byte of response.
    #[error("connection closed before a response")]
    ClosedEarly,
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Why a request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be opened (refused, unreachable, timed out):
    /// nothing was sent, so another instance may be tried.
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    /// Writing the request to the zone failed.
    #[error("writing the request failed: {0}")]
    Write(std::io::Error),
    /// The client's body passed the route's limit
    /// (`http_body_util::Limited`).
    #[error("request body over the route's limit")]
    BodyTooLarge,
    /// The client's body did not match the length the edge declared for
    /// it (the rest is not sent: the zone would read it as a request).
    #[error("request body not of its declared length")]
    BodyLength,
    /// Reading the client's body failed (it went away, or sent a broken
    /// body).
    #[error("reading the request body failed: {0}")]
    ClientBody(axum::Error),
    /// The zone's response could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// No response head within the response timeout.
    #[error("no response within {0:?}")]
    TimedOut(Duration),
}

impl SendError {
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }

    pub fn body_too_large(&self) -> bool {
        matches!(self, Self::BodyTooLarge)
    }

    /// The error of reading the client's body, sorted.
    pub fn from_body_error(err: axum::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(cause) = source {
            if cause.is::<http_body_util::LengthLimitError>() {
                return Self::BodyTooLarge;
            }
            source = cause.source();
        }
        Self::ClientBody(err)
    }
}

impl Upstream {
    /// Opens a connection to `authority` within `connect_timeout`.
    pub async fn open(authority: &str, connect_timeout: Duration) -> io::Result<Self> {
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(authority))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no connection within {connect_timeout:?}"),
                )
            })??;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            buf: BytesMut::new(),
            out: BytesMut::with_capacity(1024),
            response_timer: None,
        })
    }

    /// True when an idle connection can no longer be used: the zone
    /// closed it, or sent something unasked. Free when nothing happened on
    /// the socket since it was last read to its end (tokio remembers).
    pub fn is_stale(&self) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        let mut probe = [0u8; 1];
        !matches!(self.stream.try_read(&mut probe), Err(err) if err.kind() == io::ErrorKind::WouldBlock)
    }

    /// Writes a request: its head, then its body if it has one (with
    /// the framing the body's size calls for).
    pub async fn write_request(
        &mut self,
        parts: &http::request::Parts,
        forwarding: Option<&Forwarding>,
        mut body: axum::body::Body,
    ) -> Result<(), SendError> {
        let framing = if body.is_end_stream() {
            if parts.headers.contains_key(CONTENT_LENGTH) {
                BodyFraming::Length(0)
            } else {
                BodyFraming::None
            }
        } else {
            match body.size_hint().exact() {
                Some(length) => BodyFraming::Length(length),
                None => BodyFraming::Chunked,
            }
        };
        let out = &mut self.out;
        out.clear();
        encode_head(
            &parts.method,
            &parts.uri,
            &parts.headers,
            forwarding,
            framing,
            out,
        );
        if body.is_end_stream() {
            return self.stream.write_all(out).await.map_err(SendError::Write);
        }
        let chunked = framing == BodyFraming::Chunked;
        let declared = match framing {
            BodyFraming::Length(length) => Some(length),
            BodyFraming::None | BodyFraming::Chunked => None,
        };
        // What was sent must be what the head declared, or the zone would
        // read the difference as another request.
        let mut sent: u64 = 0;
        // Small bodies go out in the same write as the head.
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(SendError::from_body_error)?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers: none are forwarded
            };
            if chunked {
                if data.is_empty() {
                    continue;
                }
                out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                out.extend_from_slice(&data);
                out.extend_from_slice(b"\r\n");
            } else {
                sent += data.len() as u64;
                if declared.is_some_and(|declared| sent > declared) {
                    return Err(SendError::BodyLength);
                }
                out.extend_from_slice(&data);
            }
            if out.len() >= READ_SIZE {
                self.stream.write_all(out).await.map_err(SendError::Write)?;
                out.clear();
            }
        }
        if chunked {
            out.extend_from_slice(b"0\r\n\r\n");
        } else if declared.is_some_and(|declared| sent != declared) {
            return Err(SendError::BodyLength);
        }
        let written = self.stream.write_all(out).await.map_err(SendError::Write);
        if out.capacity() > 4 * READ_SIZE {
            // A large body's buffer is not kept for the next request.
            *out = BytesMut::with_capacity(1024);
        }
        written
    }

    /// Reads the response head to `method`'s request, dropping interim
    /// (1xx) responses other than 101.
    pub async fn read_head(&mut self, method: &Method) -> Result<Head, ReadError> {
        let mut read_any = !self.buf.is_empty();
        // Interim heads count toward the bound too.
        let mut interim_bytes = 0;
        loop {
            while !self.buf.is_empty() {
                match self.parse_head(method)? {
                    Parsed::Final(head) => return Ok(head),
                    Parsed::Interim(length) => interim_bytes += length,
                    Parsed::Partial => break,
                }
            }
            if interim_bytes + self.buf.len() >= MAX_RESPONSE_HEAD {
                return Err(ReadError::Malformed(format!(
                    "response head over {MAX_RESPONSE_HEAD} bytes"
                )));
            }
            self.buf.reserve(READ_SIZE);
            let read = match self.stream.read_buf(&mut self.buf).await {
                Ok(read) => read,
                // Reset before a byte of response: as good as closed early.
                Err(err) if !read_any && err.kind() == io::ErrorKind::ConnectionReset => 0,
                Err(err) => return Err(err.into()),
            };
            if read == 0 {
                return Err(if read_any {
                    ReadError::Malformed("connection closed inside the response head".into())
                } else {
                    ReadError::ClosedEarly
                });
            }
            read_any = true;
        }
    }

    /// One head parsed from the front of `buf` and taken out of it.
    fn parse_head(&mut self, method: &Method) -> Result<Parsed, ReadError> {
        // Uninitialised slots: nothing to clear on every response.
        let mut slots =
            [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_RESPONSE_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let parser = httparse::ParserConfig::default();
        let length =
            match parser.parse_response_with_uninit_headers(&mut response, &self.buf, &mut slots) {
                Ok(httparse::Status::Complete(length)) => length,
                Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
                Err(err) => return Err(ReadError::Malformed(err.to_string())),
            };
        let code = response.code.unwrap_or(0);
        let status = StatusCode::from_u16(code)
            .map_err(|_| ReadError::Malformed(format!("status {code}")))?;
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            self.buf.advance(length);
            return Ok(Parsed::Interim(length));
        }
        let version = if response.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        // Where each name and value lies in the buffer: the values become
        // slices of the head's bytes rather than copies (as hyper does).
        let base = self.buf.as_ptr() as usize;
        let mut spans = Spans::new();
        let mut framed_by = FramedBy::default();
        for header in response.headers.iter() {
            framed_by.note(header.name);
            let name = header.name.as_ptr() as usize - base;
            let value = header.value.as_ptr() as usize - base;
            spans.push((
                name,
                name + header.name.len(),
                value,
                value + header.value.len(),
            ));
        }
        let head = self.buf.split_to(length).freeze();
        let mut headers = header_maps::take(spans.len() + ADDED_HEADERS);
        for &(name_start, name_end, value_start, value_end) in &spans {
            let name = HeaderName::from_bytes(&head[name_start..name_end]).map_err(|_| {
                ReadError::Malformed(format!(
                    "header name {:?}",
                    String::from_utf8_lossy(&head[name_start..name_end])
                ))
            })?;
            let value = HeaderValue::from_maybe_shared(head.slice(value_start..value_end))
                .map_err(|_| ReadError::Malformed(format!("value of {name}")))?;
            headers.append(name, value);
        }
        let (framing, keep_alive) = framing(method, status, version, &mut headers, framed_by)?;
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = status;
        parts.headers = headers;
        Ok(Parsed::Final(Head {
            parts,
            framing,
            keep_alive,
        }))
    }

    /// The connection and what was read past the response head (a 101's
    /// first bytes of the new protocol).
    pub fn into_parts(self) -> (TcpStream, Bytes) {
        (self.stream, self.buf.freeze())
    }
}

/// How a request's body is framed on the way to the zone: always the
/// edge's own framing headers, never the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFraming {
    /// No body and no length (a GET as browsers send it).
    None,
    /// `Content-Length` bytes (0 for an empty body the client declared).
    Length(u64),
    Chunked,
}

/// The request head in HTTP/1.1 form: `method target HTTP/1.1`, then the
/// headers as they are (hyper's server has checked every name and value:
/// no CR, LF or NUL can be in them), but those `forwarding` replaces, then
/// `forwarding`'s; the body's framing headers are the edge's own.
fn encode_head(
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    forwarding: Option<&Forwarding>,
    framing: BodyFraming,
    out: &mut BytesMut,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    // `path()` rather than the path-and-query text: an absolute-form
    // `http://host?q` (or an HTTP/2 `:path` of `?q`) has an empty path,
    // which `path()` reads as `/`, as routing did.
    out.extend_from_slice(uri.path().as_bytes());
    if let Some(query) = uri.query() {
        out.extend_from_slice(b"?");
        out.extend_from_slice(query.as_bytes());
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH
            || name == TRANSFER_ENCODING
            || forwarding.is_some() && Forwarding::replaces(name)
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(forwarding) = forwarding {
        forwarding.write(out);
    }
    match framing {
        BodyFraming::None => {}
        BodyFraming::Length(length) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        BodyFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

/// Which of the headers that frame a response a head has, noted while its
/// lines are read: most heads have a `Content-Length` alone, and looking
/// the other two up in the map by hash cost more than comparing names.
#[derive(Clone, Copy, Default)]
struct FramedBy {
    connection: bool,
    transfer_encoding: bool,
    content_length: bool,
}

impl FramedBy {
    fn note(&mut self, name: &str) {
        // The length first tells most names apart at no cost.
        match name.len() {
            10 => self.connection |= name.eq_ignore_ascii_case("connection"),
            14 => self.content_length |= name.eq_ignore_ascii_case("content-length"),
            17 => self.transfer_encoding |= name.eq_ignore_ascii_case("transfer-encoding"),
            _ => {}
        }
    }
}

/// The body's framing and whether the connection stays open, from the
/// request's method and the response's status, version and headers
/// (RFC 9112 §6.3, §9.3); `framed_by` says which framing headers are
/// there. A `Content-Length` beside `Transfer-Encoding` is dropped (the
/// edge sends its own framing on); conflicting lengths are refused.
fn framing(
    method: &Method,
    status: StatusCode,
    version: Version,
    headers: &mut HeaderMap,
    framed_by: FramedBy,
) -> Result<(Framing, bool), ReadError> {
    let mut keep_alive = version == Version::HTTP_11
        && !(framed_by.connection
            && headers
                .get_all(CONNECTION)
                .iter()
                .any(|value| has_token(value, "close")));
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Ok((Framing::Upgraded, false));
    }
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((Framing::Empty, keep_alive));
    }
    if framed_by.transfer_encoding {
        headers.remove(CONTENT_LENGTH);
        let last = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .map(str::trim);
        if last.is_some_and(|coding| coding.eq_ignore_ascii_case("chunked")) {
            return Ok((Framing::Chunked, keep_alive));
        }
        return Ok((Framing::UntilClose, false));
    }
    let mut length = None;
    let lengths = framed_by
        .content_length
        .then(|| headers.get_all(CONTENT_LENGTH))
        .into_iter()
        .flatten();
    for value in lengths {
        let parsed = value
            .to_str()
            .ok()
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| ReadError::Malformed("bad Content-Length".into()))?;
        if length.is_some_and(|seen| seen != parsed) {
            return Err(ReadError::Malformed("conflicting Content-Length".into()));
        }
        length = Some(parsed);
    }
    match length {
        Some(length) => Ok((Framing::Length(length), keep_alive)),
        None => {
            keep_alive = false;
            Ok((Framing::UntilClose, keep_alive))
        }
    }
}

fn has_token(value: &HeaderValue, token: &str) -> bool {
    value.to_str().is_ok_and(|value| {
        value
            .split(',')
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing_of(
        method: Method,
        status: u16,
        raw: &[(&str, &str)],
    ) -> Result<(Framing, bool), ReadError> {
        let mut headers = HeaderMap::new();
        for (name, value) in raw {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let framed_by = FramedBy {
            connection: headers.contains_key(CONNECTION),
            transfer_encoding: headers.contains_key(TRANSFER_ENCODING),
            content_length: headers.contains_key(CONTENT_LENGTH),
        };
        // Noted name by name as `parse_head` does, the same.
        let mut noted = FramedBy::default();
        for (name, _) in raw {
            noted.note(name);
        }
        assert_eq!(
            (
                noted.connection,
                noted.transfer_encoding,
                noted.content_length
            ),
            (
                framed_by.connection,
                framed_by.transfer_encoding,
                framed_by.content_length
            ),
            "{raw:?}"
        );
        framing(
            &method,
            StatusCode::from_u16(status).unwrap(),
            Version::HTTP_11,
            &mut headers,
            framed_by,
        )
    }

    #[test]
    fn framing_follows_rfc_9112() {
        type Case<'a> = (Method, u16, &'a [(&'a str, &'a str)], (Framing, bool));
        let cases: [Case; 14] = [
            (
                Method::GET,
                200,
                &[("content-length", "12")],
                (Framing::Length(12), true),
            ),
            (
                Method::HEAD,
                200,
                &[("content-length", "12")],
                (Framing::Empty, true),
            ),
            (Method::GET, 204, &[], (Framing::Empty, true)),
            (
                Method::GET,
                304,
                &[("content-length", "5")],
                (Framing::Empty, true),
            ),
            (
                Method::GET,
                200,
                &[("transfer-encoding", "chunked"), ("content-length", "3")],
                (Framing::Chunked, true),
            ),
            (
                Method::GET,
                200,
                &[("transfer-encoding", "gzip")],
                (Framing::UntilClose, false),
            ),
            (Method::GET, 200, &[], (Framing::UntilClose, false)),
            (
                Method::GET,
                200,
                &[("content-length", "3"), ("connection", "close")],
                (Framing::Length(3), false),
            ),
            (Method::GET, 101, &[], (Framing::Upgraded, false)),
            // Names in any case; others of the same lengths are not them.
            (
                Method::GET,
                200,
                &[("Content-Length", "3"), ("CONNECTION", "Close")],
                (Framing::Length(3), false),
            ),
            (
                Method::GET,
                200,
                &[("Transfer-Encoding", "Chunked"), ("Content-Length", "9")],
                (Framing::Chunked, true),
            ),
            (
                Method::GET,
                200,
                &[
                    ("keep-alive", "timeout=5"),
                    ("content-length", "1"),
                    ("x-transfer-encode", "close"),
                ],
                (Framing::Length(1), true),
            ),
            (
                Method::GET,
                200,
                &[("content-lengths", "1"), ("x-content-lengt", "2")],
                (Framing::UntilClose, false),
            ),
            (
                Method::GET,
                200,
                &[("content-length", "3"), ("content-length", "3")],
                (Framing::Length(3), true),
            ),
        ];
        for (method, status, headers, expected) in cases {
            assert_eq!(
                framing_of(method.clone(), status, headers).unwrap(),
                expected,
                "{method} {status} {headers:?}"
            );
        }
        for bad in [
            &[("content-length", "3"), ("content-length", "4")][..],
            &[("content-length", "-1")],
            &[("content-length", "+3")],
            &[("content-length", "")],
        ] {
            assert!(framing_of(Method::GET, 200, bad).is_err(), "{bad:?}");
        }
    }

    /// A body that claims `claimed` bytes and yields `sent`.
    struct Lying {
        claimed: u64,
        sent: Option<Bytes>,
    }

    impl http_body::Body for Lying {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Ready(
                self.sent
                    .take()
                    .map(|data| Ok(http_body::Frame::data(data))),
            )
        }

        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(self.claimed)
        }
    }

    #[tokio::test]
    async fn a_body_longer_or_shorter_than_its_length_is_not_sent_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        for (claimed, sent) in [(3, "12345"), (5, "123")] {
            let mut upstream = Upstream::open(&addr, Duration::from_secs(1)).await.unwrap();
            let (parts, ()) = http::Request::post("/form").body(()).unwrap().into_parts();
            let body = axum::body::Body::new(Lying {
                claimed,
                sent: Some(Bytes::from_static(sent.as_bytes())),
            });
            let outcome = upstream.write_request(&parts, None, body).await;
            assert!(
                matches!(outcome, Err(SendError::BodyLength)),
                "{claimed} vs {sent}"
            );
        }
    }

    #[tokio::test]
    async fn a_response_with_more_headers_than_are_kept_inline_keeps_them_all() {
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let extra = crate::spans::INLINE * 2;
        let zone = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
            for n in 0..extra {
                head.push_str(&format!("x-h{n}: v{n}\r\n"));
            }
            head.push_str("\r\nok");
            socket.write_all(head.as_bytes()).await.unwrap();
            socket
        });
        let mut upstream = Upstream::open(&addr, Duration::from_secs(1)).await.unwrap();
        let head = upstream.read_head(&Method::GET).await.unwrap();
        assert_eq!(head.parts.headers.len(), extra + 1);
        for n in 0..extra {
            assert_eq!(
                head.parts.headers[format!("x-h{n}").as_str()],
                format!("v{n}")
            );
        }
        assert_eq!(head.framing, Framing::Length(2));
        drop(zone.await.unwrap());
    }

    #[test]
    fn the_request_head_is_written_in_origin_form() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.test"));
        headers.insert("x-request-id", HeaderValue::from_static("abc"));
        let mut out = BytesMut::new();
        encode_head(
            &Method::GET,
            &"/shop?page=2".parse().unwrap(),
            &headers,
            None,
            BodyFraming::None,
            &mut out,
        );
        assert_eq!(
            &out[..],
            b"GET /shop?page=2 HTTP/1.1\r\nhost: example.test\r\nx-request-id: abc\r\n\r\n"
        );
        // An absolute-form target with an empty path goes as `/?query`.
        for target in ["http://example.test?q=1", "http://example.test/?q=1"] {
            out.clear();
            encode_head(
                &Method::GET,
                &target.parse().unwrap(),
                &HeaderMap::new(),
                None,
                BodyFraming::None,
                &mut out,
            );
            assert_eq!(&out[..], b"GET /?q=1 HTTP/1.1\r\n\r\n", "{target}");
        }
        // A body's framing is the edge's: the client's length goes.
        headers.insert("content-length", HeaderValue::from_static("999"));
        out.clear();
        encode_head(
            &Method::POST,
            &"/auth/login".parse().unwrap(),
            &headers,
            None,
            BodyFraming::Chunked,
            &mut out,
        );
        assert_eq!(&out[..], b"POST /auth/login HTTP/1.1\r\nhost: example.test\r\nx-request-id: abc\r\ntransfer-encoding: chunked\r\n\r\n");
        out.clear();
        encode_head(
            &Method::POST,
            &"/auth/login".parse().unwrap(),
            &headers,
            None,
            BodyFraming::Length(7),
            &mut out,
        );
        assert!(out.ends_with(b"x-request-id: abc\r\ncontent-length: 7\r\n\r\n"));
    }

    #[test]
    fn the_edges_forwarding_lines_replace_the_clients() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.test"));
        // Every one of the five names, twice.
        for (name, value) in [
            ("x-request-id", "forged"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "for=6.6.6.6"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
            headers.append(name, HeaderValue::from_static(value));
        }
        headers.insert("accept", HeaderValue::from_static("*/*"));
        let forwarding = Forwarding::new(
            &headers,
            "127.0.0.5".parse().unwrap(),
            "http",
            false,
            HeaderValue::from_static("id-7"),
        );
        let mut out = BytesMut::new();
        encode_head(
            &Method::GET,
            &"/".parse().unwrap(),
            &headers,
            Some(&forwarding),
            BodyFraming::None,
            &mut out,
        );
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "GET / HTTP/1.1\r\nhost: example.test\r\naccept: */*\r\n\
             x-forwarded-for: 127.0.0.5\r\nx-forwarded-proto: http\r\n\
             x-forwarded-host: example.test\r\n\
             forwarded: for=127.0.0.5;proto=http;host=\"example.test\"\r\n\
             x-request-id: id-7\r\n\r\n"
        );
    }
}
