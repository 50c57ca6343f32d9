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
use http_body::{Frame, SizeHint};

/// What the access-log line says about a request.
#[derive(Debug, Default)]
pub struct Entry {
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub zone: &'static str,
    pub upstream: String,
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
        tracing::info!(
            request_id = %e.request_id.escape_debug(),
            method = %e.method.escape_debug(),
            path = %e.path.escape_debug(),
            zone = e.zone,
            upstream = %e.upstream.escape_debug(),
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
        let entry = Entry {
            request_id: "id-1".into(),
            method: "GET\r\nX".into(),
            path: "/auth/callback\r\n2025-01-01T00:00:00Z  INFO request path=/admin\u{1b}[2J"
                .into(),
            zone: "identity",
            upstream: "127.0.0.1:3001".into(),
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
            log.contains(r"path=/auth/callback\r\n2025-01-01T00:00:00Z"),
            "{log}"
        );
    }
}
