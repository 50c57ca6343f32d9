//! The edge's accept loop: HTTP/1.1 and h2c on one port, a bound on the
//! request head (431 beyond), caps on open connections (in all and per
//! client, see `connections`), explicit HTTP/2 limits, upgrades passed
//! through, and a graceful stop that lets in-flight requests finish within
//! a deadline.
//!
//! HTTP/2 connections with no open stream are not closed for idleness:
//! hyper 1.x's server has no such timeout (hyperium/hyper#1628; its
//! keep-alive pings only find dead peers, and `header_read_timeout` is
//! HTTP/1 only), and tracking every stream's lifetime here to call
//! `graceful_shutdown` would be a fragile copy of hyper's own bookkeeping.
//! The per-client cap bounds what one address can hold open meanwhile.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::balance::{self, Lane, Placed};
use crate::client_http1::{self, Ended};
use crate::connections::{ConnectionLimits, ConnectionSlot};
use crate::proxy::EdgeApp;
use crate::rewind::Rewound;
use crate::trusted::TrustedProxies;
use crate::write_stall::StallLimited;

/// Streams one HTTP/2 connection may have open at once.
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 128;
/// Streams a client may open and reset before the connection is closed
/// (the "rapid reset" flood).
const H2_MAX_PENDING_RESET_STREAMS: usize = 32;
/// An idle HTTP/2 connection is pinged this often, and closed when the
/// ping is not answered in time.
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// A client has this long to send a request head (and, between requests
/// on a kept-alive HTTP/1.1 connection, to start the next one).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits of the client side.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Largest request head in bytes (at least 8 KiB); for HTTP/2 the
    /// largest header list.
    pub max_header_bytes: usize,
    /// How long in-flight requests may run on after shutdown starts.
    pub shutdown_grace: Duration,
    /// Open client connections at most; past it the edge stops accepting
    /// (new connections wait in the listen backlog) until one closes.
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: per /64) at most;
    /// past it that client's new connections are closed at once.
    pub max_connections_per_client: usize,
    /// Peers exempt from the per-client cap (`--trusted-proxies`).
    pub trusted_proxies: TrustedProxies,
    /// A client that takes none of a response for this long is dropped
    /// (`write_stall`; `--idle-timeout-secs`).
    pub write_stall: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_client: 256,
            trusted_proxies: TrustedProxies::default(),
            write_stall: Duration::from_secs(60),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting and waits up to the grace period for open connections.
pub async fn serve(
    listener: TcpListener,
    app: EdgeApp,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(ConnectionLimits::new(
        options.max_connections,
        options.max_connections_per_client,
        options.trusted_proxies.clone(),
    ));
    let (spread, lanes) = balance::lanes(1);
    app.edge().serve_on(spread);
    // `lanes(1)` makes exactly one.
    if let Some(lane) = lanes.into_iter().next() {
        serve_with_limits(listener, app, &options, limits, lane, shutdown).await;
    }
}

/// [`serve`] as one of several threads (see `cores`): under connection
/// caps shared with the others, in `lane`'s place in their balance.
pub async fn serve_with_limits(
    listener: TcpListener,
    app: EdgeApp,
    options: &ServeOptions,
    limits: Arc<ConnectionLimits>,
    mut lane: Lane,
    shutdown: impl Future<Output = ()>,
) {
    let max_head = options.max_header_bytes.max(8192);
    // HTTP/1 connections handed over by `client_http1`: HTTP/1 only, so
    // that no connection switches protocol midway.
    let mut http1 = http1::Builder::new();
    http1
        .max_buf_size(max_head)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // Connections that open with HTTP/2's preface (h2c with prior
    // knowledge).
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_buf_size(max_head)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX))
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESET_STREAMS)
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT);
    // HTTP/2 connections drain through `graceful`; the others each hold a
    // receiver of `stop` until they end.
    let graceful = GracefulShutdown::new();
    let (stop, stopping) = watch::channel(false);
    let protocols = Protocols {
        app,
        http1: Arc::new(http1),
        auto: Arc::new(builder),
        client_limits: client_http1::Limits {
            max_head,
            head_timeout: HEADER_READ_TIMEOUT,
            write_stall: options.write_stall,
        },
        stopping,
    };
    tokio::pin!(shutdown);
    loop {
        let placed = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(placed) = lane.moved() => placed,
            admitted = admitted(&listener, &limits) => {
                let Some((stream, peer, slot)) = admitted else { continue };
                match lane.place(stream, peer, slot) {
                    Some(placed) => placed,
                    None => continue, // another thread serves it
                }
            }
        };
        tokio::spawn(serve_connection(
            placed,
            protocols.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    // Connections another thread passed here before it saw the stop are
    // served like those accepted here: a request already sent is answered.
    lane.close();
    while let Some(placed) = lane.moved().await {
        tokio::spawn(serve_connection(
            placed,
            protocols.clone(),
            graceful.watcher(),
        ));
    }
    let Protocols { stopping, .. } = protocols;
    tracing::info!("draining connections (up to {:?})", options.shutdown_grace);
    let _ = stop.send(true);
    drop(stopping);
    let all_closed = async {
        tokio::join!(graceful.shutdown(), stop.closed());
    };
    tokio::select! {
        () = all_closed => tracing::info!("all connections closed"),
        () = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!("grace period over; dropping the remaining connections");
        }
    }
}

/// What serving one client connection takes, cloned for each.
#[derive(Clone)]
struct Protocols {
    app: EdgeApp,
    /// For connections `client_http1` hands over.
    http1: Arc<http1::Builder>,
    /// For those that may be HTTP/2 (h2c with prior knowledge).
    auto: Arc<auto::Builder<TokioExecutor>>,
    client_limits: client_http1::Limits,
    /// Turns true when the edge stops.
    stopping: watch::Receiver<bool>,
}

/// The next connection admitted under the caps; `None` for one that was
/// not (its client has its share open, or the accept failed).
async fn admitted(
    listener: &TcpListener,
    limits: &ConnectionLimits,
) -> Option<(TcpStream, SocketAddr, ConnectionSlot)> {
    // At the cap, wait for a connection to close before accepting more.
    let Some(permit) = limits.reserve().await else {
        // The cap's semaphore is never closed; were it, nothing could be
        // admitted again, and the loop waits for the stop.
        return std::future::pending().await;
    };
    let (stream, peer) = match listener.accept().await {
        Ok(accepted) => accepted,
        Err(err) => {
            // Out of file descriptors and the like: back off, keep serving.
            tracing::warn!("accept failed: {err}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            return None;
        }
    };
    let Some(slot) = limits.admit(permit, peer.ip()) else {
        tracing::debug!(%peer, "too many connections from this client; closed");
        return None;
    };
    let _ = stream.set_nodelay(true);
    Some((stream, peer, slot))
}

/// Serves one client connection until it closes: plain requests on
/// `client_http1`, the rest of its life on hyper's server once it carries
/// anything else.
async fn serve_connection(placed: Placed, protocols: Protocols, watcher: Watcher) {
    let Placed { stream, peer, slot } = placed;
    let Protocols {
        app,
        http1,
        auto,
        client_limits,
        stopping,
    } = protocols;
    let plain = client_http1::serve(stream, stopping.clone(), client_limits, |request| {
        app.clone().answer(peer, slot.clone(), request)
    });
    if let Ended::HandedOff(handoff) = plain.await {
        let request_slot = slot.clone();
        let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
            // A WebSocket tunnel keeps its clone of the slot (see `connections`).
            let answer = app.clone().call(peer, request_slot.clone(), request);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let stream = StallLimited::new(handoff.stream, client_limits.write_stall);
        let io = TokioIo::new(Rewound::new(handoff.read, stream));
        if handoff.may_be_http2 {
            let connection = auto.serve_connection_with_upgrades(io, service);
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        } else {
            // Once the edge stops, the request under way (the one handed
            // over, say) is answered, then the connection closes.
            let mut stopping = stopping;
            let connection = http1.serve_connection(io, service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(%peer, "connection ended: {err}");
            }
        }
    }
    drop(slot);
}
