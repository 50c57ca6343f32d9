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

use http::uri::Authority;

use crate::upstream_http1::Upstream;

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

impl UpstreamPool {
    /// This thread's pool.
    pub fn this_thread() -> Arc<Self> {
        THIS_THREAD.with(Arc::clone)
    }

    pub(crate) fn take_idle(&self, authority: &Authority) -> Option<Upstream> {
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The stacks stay consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
