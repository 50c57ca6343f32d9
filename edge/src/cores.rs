//! The edge's threads: one single-threaded tokio runtime per core, each
//! accepting on its own listening socket (`SO_REUSEPORT`, so the kernel
//! spreads new connections over them) and keeping its own upstream
//! connections (`upstream_pool`). A request is read, proxied and answered
//! on one thread, as nginx's workers do; what the threads share is the
//! route table (instances, health, round-robin), the rate limiter, the
//! cache and the connection caps.
//!
//! The kernel's spread is by a hash, not by load; a thread that accepts
//! more than its share passes the surplus on (`balance`).
//!
//! A multi-threaded runtime would move tasks between threads and wake
//! them across cores; with connections pinned to a thread that never
//! happens, and the two sides of a proxied request meet in one event loop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use crate::balance;
use crate::connections::ConnectionLimits;
use crate::serve::{ServeOptions, serve_with_limits};
use crate::state::Edge;

/// Connections a listening socket queues before they are accepted.
const BACKLOG: i32 = 1024;

/// `count` listening sockets on `addr` (with port 0: on the port the
/// first one got), all with `SO_REUSEPORT`.
pub fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let first = bind_one(addr)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count.max(1) {
        listeners.push(bind_one(addr)?);
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Serves `edge` on `listeners`, one thread each, until `shutdown`
/// resolves; then every thread stops accepting and drains (see `serve`).
/// Active health probes run on the first thread.
pub fn run(
    listeners: Vec<std::net::TcpListener>,
    edge: Arc<Edge>,
    options: ServeOptions,
    health_interval: Option<Duration>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let limits = Arc::new(ConnectionLimits::new(
        options.max_connections,
        options.max_connections_per_client,
        options.trusted_proxies.clone(),
    ));
    let (stop, stopped) = watch::channel(false);
    let mut threads = Vec::new();
    let (spread, lanes) = balance::lanes(listeners.len());
    edge.serve_on(spread);
    for (index, (listener, lane)) in listeners.into_iter().zip(lanes).enumerate() {
        let edge = edge.clone();
        let options = options.clone();
        let limits = limits.clone();
        let mut stopped = stopped.clone();
        let thread = std::thread::Builder::new()
            .name(format!("edge-{index}"))
            .spawn(move || -> anyhow::Result<()> {
                // Sockets and timers only: the signal and child-process
                // drivers would be polled on every turn of the loop.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()
                    .context("cannot start a runtime")?;
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .context("cannot register the listening socket")?;
                    if index == 0
                        && let Some(interval) = health_interval
                    {
                        tokio::spawn(crate::health::probe_forever(edge.clone(), interval));
                    }
                    let app = crate::proxy::app(edge);
                    let stop = async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    };
                    serve_with_limits(listener, app, &options, limits, lane, stop).await;
                    Ok(())
                })
            })
            .context("cannot start a serving thread")?;
        threads.push(thread);
    }
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal runtime")?;
    signals.block_on(shutdown);
    let _ = stop.send(true);
    for thread in threads {
        match thread.join() {
            Ok(result) => result?,
            Err(_) => anyhow::bail!("a serving thread panicked"),
        }
    }
    Ok(())
}
