//! The caps on client connections: at most `--max-connections` open at
//! once (past it the edge stops accepting until one closes), and at most
//! `--max-connections-per-client` from one client address (past it that
//! client's new connections are closed at once), so one client cannot hold
//! every slot. Trusted proxies are exempt from the per-client cap: every
//! client behind them shares their address.
//!
//! A connection holds a [`ConnectionSlot`] for as long as it is open (and
//! the slot holds its count on its serving thread, see `balance`). Every
//! request on it carries a clone (a request extension), and a WebSocket
//! tunnel spliced from it keeps that clone until the tunnel ends: hyper
//! hands an upgraded connection off and forgets it, so without this a
//! tunnel would count against neither cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::balance::Open;
use crate::rate_limit::client_key;
use crate::trusted::TrustedProxies;

/// Open connections per client key (IPv4 address, IPv6 /64). Only clients
/// with an open connection have an entry, so it holds at most
/// `--max-connections` entries.
type OpenPerClient = Arc<Mutex<HashMap<u128, usize>>>;

/// Both caps.
pub struct ConnectionLimits {
    global: Arc<Semaphore>,
    per_client: OpenPerClient,
    max_per_client: usize,
    trusted: TrustedProxies,
}

impl ConnectionLimits {
    pub fn new(max: usize, max_per_client: usize, trusted: TrustedProxies) -> Self {
        Self {
            global: Arc::new(Semaphore::new(max.max(1))),
            per_client: OpenPerClient::default(),
            max_per_client: max_per_client.max(1),
            trusted,
        }
    }

    /// Waits until the global cap has room for one more connection
    /// (`None` only if the semaphore were closed, which it never is).
    pub async fn reserve(&self) -> Option<OwnedSemaphorePermit> {
        self.global.clone().acquire_owned().await.ok()
    }

    /// The slot of a new connection from `peer`, holding `permit`; `None`
    /// when that client already has its share open (the permit is then
    /// given back).
    pub fn admit(&self, permit: OwnedSemaphorePermit, peer: IpAddr) -> Option<ConnectionSlot> {
        let client = if self.trusted.contains(peer) {
            None
        } else {
            let key = client_key(peer.to_canonical());
            let mut open = lock(&self.per_client);
            let count = open.entry(key).or_insert(0);
            if *count >= self.max_per_client {
                return None;
            }
            *count += 1;
            Some(ClientShare {
                open: self.per_client.clone(),
                key,
            })
        };
        Some(ConnectionSlot {
            _held: Arc::new(Held {
                _permit: permit,
                _client: client,
                thread: OnceLock::new(),
            }),
        })
    }

    /// Connections open from `peer`'s client key (0 for trusted proxies).
    #[cfg(test)]
    fn open_from(&self, peer: IpAddr) -> usize {
        let key = client_key(peer.to_canonical());
        lock(&self.per_client).get(&key).copied().unwrap_or(0)
    }
}

/// A connection's place under both caps, given back when the last clone
/// is dropped (the connection has ended and no tunnel from it is open).
#[derive(Clone)]
pub struct ConnectionSlot {
    _held: Arc<Held>,
}

impl std::fmt::Debug for ConnectionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionSlot")
    }
}

struct Held {
    _permit: OwnedSemaphorePermit,
    _client: Option<ClientShare>,
    /// The connection's count on the thread that serves it (`balance`),
    /// set once it is placed: a tunnel from it counts there too.
    thread: OnceLock<Open>,
}

impl ConnectionSlot {
    /// Counts the connection on its serving thread for as long as the slot
    /// is held (a second count would be dropped at once).
    pub fn count_on_thread(&self, open: Open) {
        let _ = self._held.thread.set(open);
    }
}

/// One connection counted against its client.
struct ClientShare {
    open: OpenPerClient,
    key: u128,
}

impl Drop for ClientShare {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

fn lock(open: &OpenPerClient) -> MutexGuard<'_, HashMap<u128, usize>> {
    // The counts stay consistent even if a holder panicked.
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn one_client_gets_its_share_and_no_more() {
        let limits = ConnectionLimits::new(10, 2, TrustedProxies::default());
        let first = limits.admit(limits.reserve().await.unwrap(), ip("203.0.113.9"));
        let second = limits.admit(limits.reserve().await.unwrap(), ip("::ffff:203.0.113.9"));
        assert!(first.is_some() && second.is_some());
        assert_eq!(limits.open_from(ip("203.0.113.9")), 2);
        assert!(
            limits
                .admit(limits.reserve().await.unwrap(), ip("203.0.113.9"))
                .is_none()
        );
        // The refused connection gave its global permit back.
        assert_eq!(limits.global.available_permits(), 8);
        // Other clients are not held back.
        assert!(
            limits
                .admit(limits.reserve().await.unwrap(), ip("203.0.113.10"))
                .is_some()
        );
        drop(first);
        assert_eq!(limits.open_from(ip("203.0.113.9")), 1);
        assert!(
            limits
                .admit(limits.reserve().await.unwrap(), ip("203.0.113.9"))
                .is_some()
        );
    }

    #[tokio::test]
    async fn ipv6_clients_count_per_64() {
        let limits = ConnectionLimits::new(10, 1, TrustedProxies::default());
        let held = limits.admit(limits.reserve().await.unwrap(), ip("2001:db8:1:2::1"));
        assert!(held.is_some());
        assert!(
            limits
                .admit(limits.reserve().await.unwrap(), ip("2001:db8:1:2::ffff"))
                .is_none()
        );
        assert!(
            limits
                .admit(limits.reserve().await.unwrap(), ip("2001:db8:1:3::1"))
                .is_some()
        );
    }

    #[tokio::test]
    async fn trusted_proxies_are_not_capped_per_client() {
        let limits = ConnectionLimits::new(10, 1, "10.0.0.0/8".parse().unwrap());
        let held: Vec<_> = (0..5)
            .map(|_| limits.global.clone().try_acquire_owned().unwrap())
            .map(|permit| limits.admit(permit, ip("10.1.2.3")))
            .collect();
        assert!(held.iter().all(Option::is_some));
        assert_eq!(limits.open_from(ip("10.1.2.3")), 0);
    }

    #[tokio::test]
    async fn a_slot_is_given_back_when_its_last_clone_goes() {
        let limits = ConnectionLimits::new(1, 1, TrustedProxies::default());
        let slot = limits
            .admit(limits.reserve().await.unwrap(), ip("192.0.2.1"))
            .unwrap();
        // A tunnel's clone outlives the connection's own.
        let tunnel = slot.clone();
        drop(slot);
        assert_eq!(limits.global.available_permits(), 0);
        assert_eq!(limits.open_from(ip("192.0.2.1")), 1);
        drop(tunnel);
        assert_eq!(limits.global.available_permits(), 1);
        assert_eq!(limits.open_from(ip("192.0.2.1")), 0);
        assert!(lock(&limits.per_client).is_empty(), "no entry left behind");
    }
}
