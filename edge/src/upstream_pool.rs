//! Kept-alive HTTP/1.1 connections to the zones' instances, one pool per
//! thread.
//!
//! The edge runs one single-threaded runtime per core (see `cores`), so a
//! pool per thread means a proxied request, its client connection and the
//! upstream connection it borrows all live on one thread: no hand-off to a
//! pool's dispatch task on another thread, no cross-thread wake-up. The
//! connections are hyper's own `client::conn::http1` (the request is
//! written by the connection's task on this same thread); what is written
//! here is only the keeping: a stack of idle senders per instance (the
//! most recently used first, so few connections stay warm), given back
//! when a response body has been read to its end, and dropped once idle
//! for [`IDLE_TIMEOUT`] or closed by the zone. hyper_util's pooled client
//! did the same through a shared pool and a channel per request, which is
//! what the profile in docs/performance.md found costly.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use http::uri::Authority;
use http::{Request, Response};
use http_body::{Body as _, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Idle connections kept per instance and thread; more are closed when
/// given back.
const MAX_IDLE_PER_INSTANCE: usize = 64;
/// An idle connection older than this is closed rather than reused (the
/// zones keep connections open longer, so the edge closes first).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

thread_local! {
    static THIS_THREAD: Arc<UpstreamPool> = Arc::new(UpstreamPool::default());
}

/// The idle connections of one thread, per instance.
#[derive(Default)]
pub struct UpstreamPool {
    idle: Mutex<HashMap<Authority, Vec<Idle>>>,
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// Why a request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be opened (refused, unreachable, timed out):
    /// nothing was sent, so another instance may be tried.
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    /// The request was sent, or partly sent, and the exchange failed.
    #[error("{0}")]
    Exchange(#[from] hyper::Error),
}

impl SendError {
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }

    /// True when sending failed because the client's body passed the
    /// route's limit (`http_body_util::Limited`).
    pub fn body_too_large(&self) -> bool {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(cause) = source {
            if cause.is::<http_body_util::LengthLimitError>() {
                return true;
            }
            source = cause.source();
        }
        false
    }
}

/// A connection to one instance, taken from this thread's pool or new.
pub struct Connection {
    pool: Arc<UpstreamPool>,
    authority: Authority,
    sender: SendRequest<Body>,
    reused: bool,
    connect_timeout: Duration,
}

impl UpstreamPool {
    /// This thread's pool.
    pub fn this_thread() -> Arc<Self> {
        THIS_THREAD.with(Arc::clone)
    }

    /// A connection to `authority` that is ready for a request: an idle
    /// one when there is one, else a new one (within `connect_timeout`).
    pub async fn connect(
        self: &Arc<Self>,
        authority: &Authority,
        connect_timeout: Duration,
    ) -> Result<Connection, SendError> {
        while let Some(mut sender) = self.take_idle(authority) {
            // Given back at the end of a response body, so ready at once or
            // after the connection's task has read its last bytes; one
            // still sending a request body (the zone answered early) is
            // not waited for long.
            if let Ok(Ok(())) = tokio::time::timeout(connect_timeout, sender.ready()).await {
                return Ok(self.connection(authority, sender, true, connect_timeout));
            }
        }
        let sender = open(authority, connect_timeout).await?;
        Ok(self.connection(authority, sender, false, connect_timeout))
    }

    fn connection(
        self: &Arc<Self>,
        authority: &Authority,
        sender: SendRequest<Body>,
        reused: bool,
        connect_timeout: Duration,
    ) -> Connection {
        Connection {
            pool: self.clone(),
            authority: authority.clone(),
            sender,
            reused,
            connect_timeout,
        }
    }

    fn take_idle(&self, authority: &Authority) -> Option<SendRequest<Body>> {
        let mut idle = lock(&self.idle);
        let stack = idle.get_mut(authority)?;
        while let Some(entry) = stack.pop() {
            if !entry.sender.is_closed() && entry.since.elapsed() < IDLE_TIMEOUT {
                return Some(entry.sender);
            }
        }
        None
    }

    fn give_back(&self, authority: Authority, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = lock(&self.idle);
        let stack = idle.entry(authority).or_default();
        if stack.len() >= MAX_IDLE_PER_INSTANCE {
            // Full: make room by dropping the closed and the expired
            // (taking them out at checkout keeps the common path short).
            stack.retain(|entry| {
                !entry.sender.is_closed() && now.duration_since(entry.since) < IDLE_TIMEOUT
            });
        }
        if stack.len() < MAX_IDLE_PER_INSTANCE {
            stack.push(Idle { sender, since: now });
        }
    }

    /// Idle connections held, over every instance (for tests).
    pub fn idle_count(&self) -> usize {
        lock(&self.idle).values().map(Vec::len).sum()
    }
}

impl Connection {
    /// Sends `request`; the response's body gives the connection back to
    /// the pool when it has been read to its end. A kept-alive connection
    /// the zone closed just before the request was written is replaced by
    /// a new one, once (nothing had been sent on it).
    pub async fn send(mut self, request: Request<Body>) -> Result<Response<PooledBody>, SendError> {
        let response = match self.sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut failed) => match failed.take_message() {
                Some(request) if self.reused => {
                    self.sender = open(&self.authority, self.connect_timeout).await?;
                    self.reused = false;
                    self.sender.send_request(request).await?
                }
                _ => return Err(SendError::Exchange(failed.into_error())),
            },
        };
        let give_back = (self.pool, self.authority, self.sender);
        Ok(response.map(|inner| PooledBody {
            inner,
            give_back: Some(give_back),
        }))
    }
}

/// Opens a connection and starts its task on this thread's runtime.
async fn open(
    authority: &Authority,
    connect_timeout: Duration,
) -> Result<SendRequest<Body>, SendError> {
    let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(authority.as_str()))
        .await
        .map_err(|_| {
            SendError::Connect(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {connect_timeout:?}"),
            ))
        })?
        .map_err(SendError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(SendError::Exchange)?;
    let address = authority.clone();
    tokio::spawn(async move {
        // Upgrades: a WebSocket answer (101) hands the socket to `upgrade`.
        if let Err(err) = connection.with_upgrades().await {
            tracing::debug!(upstream = %address, "upstream connection ended: {err}");
        }
    });
    Ok(sender)
}

/// A response body from a pooled connection: once read to its end, the
/// connection goes back to the pool it came from. Dropped before its end
/// (the client went away), the connection is closed with it, since the
/// rest of the response would still be on the wire.
pub struct PooledBody {
    inner: Incoming,
    give_back: Option<(Arc<UpstreamPool>, Authority, SendRequest<Body>)>,
}

impl PooledBody {
    fn finish(&mut self) {
        if let Some((pool, authority, sender)) = self.give_back.take() {
            pool.give_back(authority, sender);
        }
    }
}

impl http_body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finish(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.finish(),
            Poll::Ready(Some(Err(_))) => self.give_back = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // An empty body (HEAD, 204, 304) may never be polled.
        if self.inner.is_end_stream() {
            self.finish();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The stacks stay consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
