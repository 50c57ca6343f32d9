//! The response body the edge hands to the client: it counts bytes, cuts
//! off an upstream that goes silent mid-stream, and writes the access-log
//! line when the body ends (or the client goes away). What came from the
//! request is written escaped (`\r`, `\n`, `\u{1b}`), so a request can never
//! start a line of its own in the log.

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
                this.idle = None;
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                }
                // hyper stops polling a body of known length at its end.
                if this.inner.is_end_stream() {
                    this.outcome = "complete";
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
                let idle = this
                    .idle
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match idle.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.outcome = "idle timeout";
                        Poll::Ready(Some(Err(axum::Error::new(IdleTimeout(timeout)))))
                    }
                    Poll::Pending => Poll::Pending,
                }
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
        let e = &self.entry;
        // Header values and paths are visible ASCII once parsed; escaped
        // anyway, so no value can start a line of its own.
        let request_id = String::from_utf8_lossy(e.request_id.as_bytes());
        let upstream = e.upstream.as_ref().map_or("-", Authority::as_str);
        tracing::info!(
            request_id = %request_id.escape_debug(),
            method = %e.method.as_str().escape_debug(),
            path = %e.uri.path().escape_debug(),
            zone = e.zone,
            upstream = %upstream.escape_debug(),
            status = e.status,
            bytes = self.bytes,
            ms = self.started.elapsed().as_millis() as u64,
            outcome = self.outcome,
            "request"
        );
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
