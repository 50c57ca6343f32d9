//! One request's use of a connection to an instance: taken from this
//! thread's pool (or opened), the request written and the response head
//! read (`upstream_http1`), the body handed back to whoever polls it
//! (`upstream_body`), which gives the connection back to the pool.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::uri::Authority;
use http::{Method, Request, Response};
use http_body::Body as _;
use tokio::time::Instant;

use crate::forward::Forwarding;
use crate::header_maps;
use crate::upstream_body::UpstreamBody;
use crate::upstream_http1::{Head, ReadError, SendError, Upstream};
use crate::upstream_pool::UpstreamPool;

/// A deadline that never comes, for a timeout past what the clock holds.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A connection to one instance, taken from this thread's pool or new.
pub struct Connection {
    pool: Arc<UpstreamPool>,
    authority: Authority,
    upstream: Upstream,
    reused: bool,
    connect_timeout: Duration,
}

impl Connection {
    /// A connection to `authority`: an idle one from `pool` when there is
    /// one, else a new one (within `connect_timeout`).
    pub async fn get(
        pool: &Arc<UpstreamPool>,
        authority: &Authority,
        connect_timeout: Duration,
    ) -> Result<Self, SendError> {
        let (upstream, reused) = match pool.take_idle(authority) {
            Some(upstream) => (upstream, true),
            None => (open(authority, connect_timeout).await?, false),
        };
        Ok(Self {
            pool: pool.clone(),
            authority: authority.clone(),
            upstream,
            reused,
            connect_timeout,
        })
    }

    /// Sends `request` (with `forwarding`'s headers in place of the
    /// client's) and reads the response head, within `timeout`; the body
    /// is read by whoever polls it and gives the connection back when it
    /// ends.
    ///
    /// A kept-alive connection can have been closed by the zone just as
    /// the request went out; then, when the zone sent nothing back and the
    /// request had no body and a method that only reads (GET, HEAD,
    /// OPTIONS; nginx's `proxy_next_upstream` also repeats PUT and DELETE),
    /// it is sent once more on a new connection.
    pub async fn send(
        mut self,
        request: Request<Body>,
        forwarding: Option<Forwarding>,
        timeout: Duration,
    ) -> Result<Response<UpstreamBody>, SendError> {
        let (parts, body) = request.into_parts();
        let mut timer = self
            .upstream
            .response_timer
            .take()
            .unwrap_or_else(|| Box::pin(tokio::time::sleep(timeout)));
        // Checked: a deadline past what the clock can hold waits for ever.
        let deadline = Instant::now().checked_add(timeout);
        timer
            .as_mut()
            .reset(deadline.unwrap_or_else(|| Instant::now() + FAR_FUTURE));
        let head = {
            let reading = pin!(self.head(&parts, forwarding.as_ref(), body));
            tokio::select! {
                biased;
                head = reading => head?,
                () = timer.as_mut() => return Err(SendError::TimedOut(timeout)),
            }
        };
        self.upstream.response_timer = Some(timer);
        header_maps::give_back(parts.headers);
        let give_back = head
            .keep_alive
            .then(|| (self.pool.clone(), self.authority.clone()));
        let body = UpstreamBody::new(self.upstream, head.framing, give_back);
        Ok(Response::from_parts(head.parts, body))
    }

    /// The response head, the request sent again on a new connection
    /// when a kept-alive one was closed under it (see [`Connection::send`]).
    async fn head(
        &mut self,
        parts: &http::request::Parts,
        forwarding: Option<&Forwarding>,
        body: Body,
    ) -> Result<Head, SendError> {
        let may_repeat = self.reused && body.is_end_stream() && is_safe(&parts.method);
        match self.exchange(parts, forwarding, body).await {
            Err(err) if may_repeat && nothing_came_back(&err) => {
                tracing::debug!(upstream = %self.authority, "kept-alive connection closed under the request ({err}); sending it again");
                self.upstream = open(&self.authority, self.connect_timeout).await?;
                self.reused = false;
                self.exchange(parts, forwarding, Body::empty()).await
            }
            outcome => outcome,
        }
    }

    async fn exchange(
        &mut self,
        parts: &http::request::Parts,
        forwarding: Option<&Forwarding>,
        body: Body,
    ) -> Result<Head, SendError> {
        let has_body = !body.is_end_stream();
        match self.upstream.write_request(parts, forwarding, body).await {
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

/// Opens a connection to `authority`. Boxed: a connect's state (the
/// socket's and its timer's) is the largest part of the futures that may
/// open one, and most requests find a pooled connection instead; unboxed,
/// it would be copied with every request's future all the same.
async fn open(authority: &Authority, connect_timeout: Duration) -> Result<Upstream, SendError> {
    let connecting = Box::pin(Upstream::open(authority.as_str(), connect_timeout));
    connecting.await.map_err(SendError::Connect)
}
