//! New connections spread evenly over the serving threads (`cores`).
//!
//! `SO_REUSEPORT` hands each new connection to a listening socket by a hash
//! of its addresses and ports, so the threads' shares are a coin toss per
//! connection: 16 connections split 10/6 or worse about half the time. A
//! kept-alive connection stays on its thread for its whole life, and the
//! thread with the larger share answers each of its requests later: the
//! latency tail is set by the busier thread. So a thread that accepts a
//! connection while it serves more than another thread does passes it to
//! the thread that serves the fewest, once, before a byte is read (the
//! "least connections" rule of load balancers, within one process).
//!
//! Counts are of open client connections, including those on their way
//! to a thread (the sender counts a moved connection for its receiver at
//! once, so a thread deciding a moment later sees it) and WebSocket
//! tunnels (the connection's slot holds its count). Two threads accepting
//! at the same instant may each keep theirs on counts read a moment
//! before: the spread can be off by one per such race, never more.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::connections::ConnectionSlot;

/// A connection accepted on one thread, on its way to another, already
/// counted there: dropped on the way, it counts out again.
pub struct Moved {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    slot: ConnectionSlot,
    open: Open,
}

/// A connection a thread serves; its slot holds its count on that thread
/// (and a WebSocket tunnel from it keeps both).
pub struct Placed {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub slot: ConnectionSlot,
}

/// The open connections of every thread, and the way to each.
struct Threads {
    open: Box<[AtomicUsize]>,
    inboxes: Box<[mpsc::UnboundedSender<Moved>]>,
}

/// One thread's place in the balance: where it accepts, what it is sent.
pub struct Lane {
    index: usize,
    threads: Arc<Threads>,
    /// Unbounded, but every connection in it holds a slot under the
    /// global connection cap, so it holds at most that many.
    inbox: mpsc::UnboundedReceiver<Moved>,
}

/// How the open connections are spread over the threads, for
/// `/_edge/status`.
#[derive(Clone)]
pub struct Spread {
    threads: Arc<Threads>,
}

impl Spread {
    /// Open connections per thread (those on their way to one included).
    pub fn open(&self) -> Vec<usize> {
        self.threads
            .open
            .iter()
            .map(|open| open.load(Ordering::Relaxed))
            .collect()
    }
}

/// The lanes of `count` threads (at least one), and their spread.
pub fn lanes(count: usize) -> (Spread, Vec<Lane>) {
    let count = count.max(1);
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..count).map(|_| mpsc::unbounded_channel()).unzip();
    let threads = Arc::new(Threads {
        open: (0..count).map(|_| AtomicUsize::new(0)).collect(),
        inboxes: senders.into_boxed_slice(),
    });
    let lanes = receivers
        .into_iter()
        .enumerate()
        .map(|(index, inbox)| Lane {
            index,
            threads: threads.clone(),
            inbox,
        })
        .collect();
    (Spread { threads }, lanes)
}

impl Lane {
    /// A connection this thread accepted: `Some` to serve it here, `None`
    /// when it went to a thread that serves fewer.
    pub fn place(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        slot: ConnectionSlot,
    ) -> Option<Placed> {
        let open = &self.threads.open;
        let mine = open[self.index].load(Ordering::Relaxed);
        let emptiest = (0..open.len())
            .filter(|&other| other != self.index)
            .min_by_key(|&other| open[other].load(Ordering::Relaxed))
            .filter(|&other| open[other].load(Ordering::Relaxed) < mine);
        let Some(other) = emptiest else {
            return Some(self.here(stream, peer, slot));
        };
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            // Could not be taken off this thread's runtime: closed, as a
            // failed accept would be.
            Err(_) => return None,
        };
        let open = self.count(other);
        let moving = Moved {
            stream,
            peer,
            slot,
            open,
        };
        match self.threads.inboxes[other].send(moving) {
            Ok(()) => None,
            Err(unsent) => {
                // That thread is stopping: serve it here after all (its
                // count there goes with `unsent`).
                let Moved {
                    stream, peer, slot, ..
                } = unsent.0;
                let stream = TcpStream::from_std(stream).ok()?;
                Some(self.here(stream, peer, slot))
            }
        }
    }

    /// The next connection another thread passed to this one (`None` once
    /// the lane is closed and nothing is left on its way).
    pub async fn moved(&mut self) -> Option<Placed> {
        loop {
            let Moved {
                stream,
                peer,
                slot,
                open,
            } = self.inbox.recv().await?;
            // Registered with this thread's runtime; a failure closes it
            // (and `open` counts it out again).
            if let Ok(stream) = TcpStream::from_std(stream) {
                slot.count_on_thread(open);
                return Some(Placed { stream, peer, slot });
            }
        }
    }

    /// Takes no more connections from other threads (they serve their own
    /// from then on); those already on their way still come out of
    /// [`Lane::moved`], which then ends.
    pub fn close(&mut self) {
        self.inbox.close();
    }

    fn here(&self, stream: TcpStream, peer: SocketAddr, slot: ConnectionSlot) -> Placed {
        slot.count_on_thread(self.count(self.index));
        Placed { stream, peer, slot }
    }

    /// One more connection counted on thread `index`.
    fn count(&self, index: usize) -> Open {
        self.threads.open[index].fetch_add(1, Ordering::Relaxed);
        Open {
            threads: self.threads.clone(),
            index,
        }
    }
}

/// One open connection counted for its thread until it is dropped (with
/// the last clone of the connection's slot).
pub struct Open {
    threads: Arc<Threads>,
    index: usize,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.threads.open[self.index].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::connections::ConnectionLimits;
    use crate::trusted::TrustedProxies;

    /// A server-side end of a new loopback connection, and its client end
    /// (kept open for the test's length).
    async fn accepted(
        listener: &tokio::net::TcpListener,
    ) -> (TcpStream, SocketAddr, tokio::net::TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        (server, peer, client)
    }

    async fn slot(limits: &ConnectionLimits) -> ConnectionSlot {
        let permit = limits.reserve().await.unwrap();
        limits
            .admit(permit, IpAddr::V4(Ipv4Addr::LOCALHOST))
            .unwrap()
    }

    #[tokio::test]
    async fn a_thread_ahead_passes_new_connections_to_the_emptiest() {
        let limits = ConnectionLimits::new(100, 100, TrustedProxies::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (spread, mut lanes) = lanes(3);
        let mut clients = Vec::new();
        let mut served = Vec::new();
        // Nine connections all accepted by the first thread: three each.
        for _ in 0..9 {
            let (stream, peer, client) = accepted(&listener).await;
            clients.push(client);
            if let Some(placed) = lanes[0].place(stream, peer, slot(&limits).await) {
                served.push((0, placed));
            }
        }
        for (index, lane) in lanes.iter_mut().enumerate().skip(1) {
            while let Ok(Some(placed)) =
                tokio::time::timeout(std::time::Duration::from_millis(50), lane.moved()).await
            {
                served.push((index, placed));
            }
        }
        assert_eq!(spread.open(), [3, 3, 3]);
        let per_lane = |index| served.iter().filter(|(lane, _)| *lane == index).count();
        assert_eq!([per_lane(0), per_lane(1), per_lane(2)], [3, 3, 3]);
        // A moved connection is the client's own: what it sends arrives.
        let (_, placed) = served.iter_mut().find(|(lane, _)| *lane == 2).unwrap();
        let client = clients
            .iter_mut()
            .find(|client| client.local_addr().unwrap() == placed.peer)
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(client, b"hello")
            .await
            .unwrap();
        let mut got = [0; 5];
        tokio::io::AsyncReadExt::read_exact(&mut placed.stream, &mut got)
            .await
            .unwrap();
        assert_eq!(&got, b"hello");
        // A connection that ends counts out of its thread.
        served.retain(|(lane, _)| *lane != 1);
        assert_eq!(spread.open(), [3, 0, 3]);
        let (stream, peer, _client) = accepted(&listener).await;
        assert!(lanes[0].place(stream, peer, slot(&limits).await).is_none());
        assert_eq!(spread.open(), [3, 1, 3]);
    }

    #[tokio::test]
    async fn a_stopped_thread_is_passed_nothing() {
        let limits = ConnectionLimits::new(100, 100, TrustedProxies::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (spread, mut lanes) = lanes(2);
        drop(lanes.pop()); // the second thread stopped
        let mut kept = Vec::new();
        for _ in 0..3 {
            let (stream, peer, client) = accepted(&listener).await;
            let placed = lanes[0].place(stream, peer, slot(&limits).await);
            kept.push((placed.expect("served here"), client));
        }
        assert_eq!(spread.open(), [3, 0]);
    }

    #[tokio::test]
    async fn a_closing_thread_gets_what_was_on_its_way_and_nothing_more() {
        let limits = ConnectionLimits::new(100, 100, TrustedProxies::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (spread, mut lanes) = lanes(2);
        let mut clients = Vec::new();
        let mut here = Vec::new();
        for _ in 0..2 {
            let (stream, peer, client) = accepted(&listener).await;
            clients.push(client);
            here.extend(lanes[0].place(stream, peer, slot(&limits).await));
        }
        assert_eq!((here.len(), spread.open()), (1, vec![1, 1]));
        // The second thread stops: the one on its way is still its own.
        lanes[1].close();
        let arrived = lanes[1].moved().await.expect("the one on its way");
        assert!(lanes[1].moved().await.is_none());
        // From then on the first thread keeps what it accepts.
        for _ in 0..2 {
            let (stream, peer, client) = accepted(&listener).await;
            clients.push(client);
            here.push(
                lanes[0]
                    .place(stream, peer, slot(&limits).await)
                    .expect("served here"),
            );
        }
        assert_eq!(spread.open(), [3, 1]);
        // A tunnel keeps a clone of the slot: it counts until it ends.
        let tunnel = arrived.slot.clone();
        drop(arrived);
        assert_eq!(spread.open(), [3, 1]);
        drop(tunnel);
        assert_eq!(spread.open(), [3, 0]);
    }
}
