//! Kept-alive HTTP/1.1 connections to the zones' instances, one pool per
//! thread.
//!
//! The edge runs one single-threaded runtime per core (see `cores`), so a
//! pool per thread means a proxied request, its client connection and the
//! upstream connection it borrows all live on one thread, and the request
//! drives the connection itself (`upstream_http1`): no task per
//! connection, no channel, no cross-thread wake-up. What is kept here is a
//! stack of idle connections per instance (the most recently used first,
//! so few stay warm), given back when a response body has been read to
//! its end (`upstream_body`), and dropped once idle for [`IDLE_TIMEOUT`]
//! or closed by the zone.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::uri::Authority;
use http::{Method, Request, Response};
use http_body::Body as _;

use crate::upstream_body::UpstreamBody;
use crate::upstream_http1::{Head, ReadError, Upstream};

/// Idle connections kept per instance and thread; more are closed when
/// given back.
const MAX_IDLE_PER_INSTANCE: usize = 64;
/// An idle connection older than this is closed rather than reused (the
/// zones keep connections open longer, so the edge closes first).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

thread_local! {
    static THIS_THREAD: Arc<UpstreamPool> = Arc::new(UpstreamPool::default());
}

/// The idle connections of one thread, per instance: a short list
/// searched by address (a handful of instances; hashing the address cost
/// more than comparing it). A mutex nobody else takes costs a few
/// nanoseconds and keeps the bodies that give connections back `Send`, as
/// hyper's server wants.
#[derive(Default)]
pub struct UpstreamPool {
    idle: Mutex<Vec<(Authority, Vec<Idle>)>>,
}

struct Idle {
    upstream: Upstream,
    since: Instant,
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

/// A connection to one instance, taken from this thread's pool or new.
pub struct Connection {
    pool: Arc<UpstreamPool>,
    authority: Authority,
    upstream: Upstream,
    reused: bool,
    connect_timeout: Duration,
}

impl UpstreamPool {
    /// This thread's pool.
    pub fn this_thread() -> Arc<Self> {
        THIS_THREAD.with(Arc::clone)
    }

    /// A connection to `authority`: an idle one when there is one, else a
    /// new one (within `connect_timeout`).
    pub async fn connect(
        self: &Arc<Self>,
        authority: &Authority,
        connect_timeout: Duration,
    ) -> Result<Connection, SendError> {
        let (upstream, reused) = match self.take_idle(authority) {
            Some(upstream) => (upstream, true),
            None => (open(authority, connect_timeout).await?, false),
        };
        Ok(Connection {
            pool: self.clone(),
            authority: authority.clone(),
            upstream,
            reused,
            connect_timeout,
        })
    }

    fn take_idle(&self, authority: &Authority) -> Option<Upstream> {
        let mut idle = lock(&self.idle);
        let stack = stack_of(&mut idle, authority)?;
        while let Some(entry) = stack.pop() {
            if entry.since.elapsed() < IDLE_TIMEOUT && !entry.upstream.is_stale() {
                return Some(entry.upstream);
            }
        }
        None
    }

    pub(crate) fn give_back(&self, authority: Authority, upstream: Upstream) {
        let now = Instant::now();
        let mut idle = lock(&self.idle);
        let index = match idle.iter().position(|(known, _)| same(known, &authority)) {
            Some(index) => index,
            None => {
                idle.push((authority, Vec::new()));
                idle.len() - 1
            }
        };
        let stack = &mut idle[index].1;
        if stack.len() >= MAX_IDLE_PER_INSTANCE {
            // Full: make room by dropping the expired (checking the rest
            // at checkout keeps the common path short).
            stack.retain(|entry| now.duration_since(entry.since) < IDLE_TIMEOUT);
        }
        if stack.len() < MAX_IDLE_PER_INSTANCE {
            stack.push(Idle {
                upstream,
                since: now,
            });
        }
    }

    /// Idle connections held, over every instance (for tests).
    pub fn idle_count(&self) -> usize {
        lock(&self.idle).iter().map(|(_, stack)| stack.len()).sum()
    }
}

impl Connection {
    /// Sends `request` and reads the response head; the body is read by
    /// whoever polls it and gives the connection back when it ends.
    ///
    /// A kept-alive connection can have been closed by the zone just as
    /// the request went out; then, when the zone sent nothing back and the
    /// request had no body and a method that only reads (GET, HEAD,
    /// OPTIONS; nginx's `proxy_next_upstream` also repeats PUT and DELETE),
    /// it is sent once more on a new connection.
    pub async fn send(
        mut self,
        request: Request<Body>,
    ) -> Result<Response<UpstreamBody>, SendError> {
        let (parts, body) = request.into_parts();
        let may_repeat = self.reused && body.is_end_stream() && is_safe(&parts.method);
        let head = match self.exchange(&parts, body).await {
            Err(err) if may_repeat && nothing_came_back(&err) => {
                tracing::debug!(upstream = %self.authority, "kept-alive connection closed under the request ({err}); sending it again");
                self.upstream = open(&self.authority, self.connect_timeout).await?;
                self.reused = false;
                self.exchange(&parts, Body::empty()).await?
            }
            outcome => outcome?,
        };
        let give_back = head
            .keep_alive
            .then(|| (self.pool.clone(), self.authority.clone()));
        let body = UpstreamBody::new(self.upstream, head.framing, give_back);
        Ok(Response::from_parts(head.parts, body))
    }

    async fn exchange(
        &mut self,
        parts: &http::request::Parts,
        body: Body,
    ) -> Result<Head, SendError> {
        let has_body = !body.is_end_stream();
        match self.upstream.write_request(parts, body).await {
            Ok(()) => {}
            // The zone may have answered (say, 413) and closed before the
            // whole body was written: its answer is still worth reading.
            Err(SendError::Write(err)) if has_body => {
                let mut head = self
                    .upstream
                    .read_head(&parts.method)
                    .await
                    .map_err(|_| SendError::Write(err))?;
                // Part of the body may still be unsent: never reused.
                head.keep_alive = false;
                return Ok(head);
            }
            Err(err) => return Err(err),
        }
        Ok(self.upstream.read_head(&parts.method).await?)
    }
}

fn stack_of<'a>(
    idle: &'a mut [(Authority, Vec<Idle>)],
    authority: &Authority,
) -> Option<&'a mut Vec<Idle>> {
    idle.iter_mut()
        .find(|(known, _)| same(known, authority))
        .map(|(_, stack)| stack)
}

/// The same instance: addresses as the route table wrote them (compared
/// as bytes; `Authority`'s own comparison ignores case, needlessly here).
fn same(a: &Authority, b: &Authority) -> bool {
    a.as_str() == b.as_str()
}

/// True when the exchange failed before any byte of a response (closed or
/// reset before one; see `Upstream::read_head`).
fn nothing_came_back(err: &SendError) -> bool {
    matches!(
        err,
        SendError::Write(_) | SendError::Read(ReadError::ClosedEarly)
    )
}

/// Methods that only read (RFC 9110 §9.2.1), so sending one twice is
/// harmless even if the zone did see the first.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Opens a connection to `authority`.
async fn open(authority: &Authority, connect_timeout: Duration) -> Result<Upstream, SendError> {
    Upstream::open(authority.as_str(), connect_timeout)
        .await
        .map_err(SendError::Connect)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The stacks stay consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
