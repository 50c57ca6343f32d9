//! The mock's state: authorization codes and access tokens, in memory,
//! bounded, each with an expiry. Nothing is written anywhere else, so the
//! mock never touches the application's database.
//!
//! Keys are kept as SHA-256 digests (a memory dump shows no usable code or
//! token). Taking a grant removes it under the map's lock: of two
//! concurrent redemptions of one code, exactly one finds it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shared_auth::token::{hash, random_token};

/// Why a grant could not be stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    #[error("the mock provider holds {0} unexpired grants of this kind and takes no more")]
    Full(usize),
}

/// Unexpired grants of one kind (codes, or access tokens), at most
/// `capacity` of them.
pub struct Grants<T> {
    entries: Mutex<HashMap<String, (Instant, T)>>,
    capacity: usize,
    ttl: Duration,
}

impl<T: Clone> Grants<T> {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
            ttl,
        }
    }

    /// How long a grant lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Stores `value` under a fresh random key and returns the key. When
    /// full, expired entries are dropped first; if none are, it refuses.
    pub fn put(&self, value: T) -> Result<String, GrantError> {
        let key = random_token(32);
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= self.capacity {
                return Err(GrantError::Full(self.capacity));
            }
        }
        entries.insert(hash(&key), (now + self.ttl, value));
        Ok(key)
    }

    /// Removes and returns the grant under `key`, if it exists and has not
    /// expired (single use).
    pub fn take(&self, key: &str) -> Option<T> {
        let (expires, value) = self.lock().remove(&hash(key))?;
        (expires > Instant::now()).then_some(value)
    }

    /// The grant under `key`, left in place, if it has not expired.
    pub fn peek(&self, key: &str) -> Option<T> {
        let entries = self.lock();
        let (expires, value) = entries.get(&hash(key))?;
        (*expires > Instant::now()).then(|| value.clone())
    }

    /// A poisoned lock only means another request panicked mid-update of a
    /// plain map; the map itself is still consistent.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, (Instant, T)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_taken_once() {
        let grants = Grants::new(4, Duration::from_secs(60));
        let key = grants.put("alice".to_owned()).unwrap();
        assert_eq!(grants.peek(&key).as_deref(), Some("alice"));
        assert_eq!(grants.take(&key).as_deref(), Some("alice"));
        assert_eq!(grants.take(&key), None);
        assert_eq!(grants.peek(&key), None);
        assert_eq!(grants.take("a key never issued"), None);
    }

    #[test]
    fn expired_grants_are_gone() {
        let grants = Grants::new(4, Duration::ZERO);
        let key = grants.put(1).unwrap();
        assert_eq!(grants.peek(&key), None);
        assert_eq!(grants.take(&key), None);
    }

    #[test]
    fn a_full_map_refuses_until_entries_expire() {
        let grants = Grants::new(2, Duration::from_secs(60));
        grants.put(1).unwrap();
        grants.put(2).unwrap();
        assert_eq!(grants.put(3), Err(GrantError::Full(2)));

        let expiring = Grants::new(2, Duration::ZERO);
        expiring.put(1).unwrap();
        expiring.put(2).unwrap();
        // Both have expired: they make room.
        assert!(expiring.put(3).is_ok());
    }

    #[test]
    fn concurrent_redemptions_of_one_code_succeed_once() {
        let grants = std::sync::Arc::new(Grants::new(4, Duration::from_secs(60)));
        let key = grants.put(7).unwrap();
        let winners: usize = (0..8)
            .map(|_| {
                let grants = grants.clone();
                let key = key.clone();
                std::thread::spawn(move || grants.take(&key).is_some())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum();
        assert_eq!(winners, 1);
    }
}
