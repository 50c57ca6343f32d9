//! The response body the edge hands to the client: it counts bytes, cuts
//! off an upstream that goes silent mid-stream, and writes the access-log
//! line when the body ends (or the client goes away). What came from the
//! request is written escaped (`\r`, `\n`, `\u{1b}`), so a request can never
//! start a line of its own in the log.

use std::fmt::Write as _;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use http::uri::Authority;
use http::{HeaderValue, Method, Uri};
use http_body::{Frame, SizeHint};

/// What the access-log line says about a request. Kept as the request's
/// own values (shared, not copied) and only formatted when the line is
/// written.
#[derive(Debug)]
pub struct Entry {
    pub request_id: HeaderValue,
    pub method: Method,
    /// Only its path is logged (a query may carry codes and tokens).
    pub uri: Uri,
    pub zone: &'static str,
    /// The instance that answered, if any.
    pub upstream: Option<Authority>,
    pub status: u16,
}

/// A response body that logs when it is done.
pub struct LoggedBody {
    inner: Body,
    entry: Entry,
    started: Instant,
    bytes: u64,
    idle_timeout: Duration,
    /// When the upstream last sent something, once the body has waited.
    progress: Instant,
    /// Armed the first time the body waits, then only re-armed when it
    /// fires early (progress moved the deadline): one timer per body at
    /// most, not one per wait.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    outcome: &'static str,
}

impl LoggedBody {
    pub fn new(inner: Body, entry: Entry, started: Instant, idle_timeout: Duration) -> Self {
        Self {
            inner,
            entry,
            started,
            bytes: 0,
            idle_timeout,
            progress: started,
            idle: None,
            outcome: "aborted",
        }
    }
}

/// The upstream sent nothing for longer than the idle timeout.
#[derive(Debug, thiserror::Error)]
#[error("the upstream sent nothing for {0:?}")]
pub struct IdleTimeout(Duration);

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                }
                // hyper stops polling a body of known length at its end.
                if this.inner.is_end_stream() {
                    this.outcome = "complete";
                } else if this.idle.is_some() {
                    this.progress = Instant::now();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => {
                this.outcome = "upstream error";
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.outcome = "complete";
                Poll::Ready(None)
            }
            Poll::Pending => {
                let timeout = this.idle_timeout;
                if this.idle.is_none() {
                    // The first wait: the body was alive until now.
                    this.progress = Instant::now();
                }
                let progress = this.progress;
                let idle = this.idle.get_or_insert_with(|| {
                    Box::pin(tokio::time::sleep_until((progress + timeout).into()))
                });
                while idle.as_mut().poll(cx).is_ready() {
                    let deadline = this.progress + timeout;
                    if Instant::now() >= deadline {
                        this.outcome = "idle timeout";
                        return Poll::Ready(Some(Err(axum::Error::new(IdleTimeout(timeout)))));
                    }
                    idle.as_mut().reset(deadline.into());
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if !tracing::enabled!(tracing::Level::INFO) {
            return;
        }
        // One line written straight into the log writer's line buffer:
        // formatting nine `tracing` fields (and the event around them) was
        // about a tenth of a proxied request's CPU. The line reads as
        // before:
        // `request request_id=… method=… path=… zone="…" upstream=…
        // status=… bytes=… ms=… outcome="…"`.
        let e = &self.entry;
        // One reading of the clock for both the duration and the line's
        // timestamp.
        let now = Instant::now();
        let ms = now.saturating_duration_since(self.started).as_millis();
        server_process::info_line_with(now, |line| {
            line.push_str("request request_id=");
            // Ids are plain ASCII (the client's only when plain, see
            // `forward::request_id`): no lossy copy for them.
            match e.request_id.to_str() {
                Ok(id) => push_escaped(line, id),
                Err(_) => push_escaped(line, &String::from_utf8_lossy(e.request_id.as_bytes())),
            }
            line.push_str(" method=");
            push_escaped(line, e.method.as_str());
            line.push_str(" path=");
            push_escaped(line, e.uri.path());
            let mut number = itoa::Buffer::new();
            line.push_str(" zone=\"");
            line.push_str(e.zone);
            line.push_str("\" upstream=");
            line.push_str(e.upstream.as_ref().map_or("-", Authority::as_str));
            line.push_str(" status=");
            line.push_str(number.format(e.status));
            line.push_str(" bytes=");
            line.push_str(number.format(self.bytes));
            line.push_str(" ms=");
            line.push_str(number.format(ms));
            line.push_str(" outcome=\"");
            line.push_str(self.outcome);
            line.push('"');
        });
    }
}

/// Appends `text`, escaped (`\r`, `\n`, `\u{1b}`…) when it holds anything
/// but printable ASCII, so a request can never start a line of its own.
fn push_escaped(line: &mut String, text: &str) {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        line.push_str(text);
    } else {
        let _ = write!(line, "{}", text.escape_debug());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log sink the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn request_values_cannot_forge_log_lines() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        // `http` refuses control characters in methods and URIs, so a
        // forged line can only come in through the escaping of what is
        // left: a raw path as hyper hands it over.
        let entry = Entry {
            request_id: HeaderValue::from_bytes(b"id\t1\xff").unwrap(),
            method: Method::from_bytes(b"GET").unwrap(),
            uri: Uri::from_static("/auth/callback%0D%0A2025-01-01T00:00:00Z"),
            zone: "identity",
            upstream: Some(Authority::from_static("127.0.0.1:3001")),
            status: 302,
        };
        tracing::subscriber::with_default(subscriber, || {
            drop(LoggedBody::new(
                Body::empty(),
                entry,
                Instant::now(),
                Duration::from_secs(1),
            ));
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            !log.trim_end_matches('\n').contains(['\r', '\n', '\u{1b}']),
            "{log}"
        );
        assert!(
            log.contains("path=/auth/callback%0D%0A2025-01-01T00:00:00Z"),
            "{log}"
        );
        assert!(log.contains(r"request_id=id\t1"), "{log}");
    }
}
