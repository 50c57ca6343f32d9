//! The edge cache: a bounded in-memory store of the anonymous responses
//! the zones marked public (see `cache_policy` for what qualifies and
//! `cached` for how requests use it).
//!
//! * Keyed by host, path and query; each key holds the variants its
//!   response's `Vary` tells apart (by the request's values of those
//!   headers), at most [`MAX_VARIANTS`].
//! * Bounded in bytes (bodies, headers and keys), least recently used keys
//!   evicted first; one response larger than an eighth of the bound is not
//!   stored at all.
//! * Misses of one key collapse: the first goes to the zone, the others
//!   wait for it ([`EdgeCache::lead`]).
//! * Purged by path prefix or by a zone's `Cache-Tag`.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use lru::LruCache;
use serde::Serialize;
use tokio::sync::watch;

use crate::cache_policy::Freshness;

/// Variants kept per key (encodings, mostly); the oldest goes first.
pub const MAX_VARIANTS: usize = 8;
/// Bytes counted for an entry besides its body, headers and key.
const ENTRY_OVERHEAD: usize = 256;
/// `Cache-Tag`: the zone's names for what a response shows, for purges.
pub static CACHE_TAG: HeaderName = HeaderName::from_static(contracts::cache::CACHE_TAG);

/// One stored response.
pub struct Entry {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The request's values of the `Vary` headers this variant answers.
    vary: Vec<(HeaderName, Option<HeaderValue>)>,
    stored: Instant,
    /// `Age` the zone gave it when stored.
    age_at_store: Duration,
    freshness: Freshness,
    tags: Vec<String>,
    size: usize,
    /// A background refresh is running (`stale-while-revalidate`).
    refreshing: AtomicBool,
}

/// `headers` with every value in a buffer of its own.
fn compact(headers: HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in &headers {
        copy.append(name.clone(), compact_value(value));
    }
    copy
}

fn compact_value(value: &HeaderValue) -> HeaderValue {
    let mut copy = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
        .unwrap_or_else(|_| value.clone());
    copy.set_sensitive(value.is_sensitive());
    copy
}

/// How an entry may be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    Fresh,
    /// Past its lifetime, within `stale-while-revalidate`.
    StaleWhileRevalidate,
    /// Past both, within `stale-if-error`: only when the zone fails.
    StaleIfError,
    Expired,
}

impl Entry {
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        request: &HeaderMap,
        vary_names: Vec<HeaderName>,
        freshness: Freshness,
    ) -> Self {
        // Own copies: the zone's header values and a body read in one piece
        // are slices of a connection's read buffer (16 KiB or more), which
        // a small entry would otherwise keep alive past its counted size.
        let body = Bytes::copy_from_slice(&body);
        let mut headers = compact(headers);
        let age_at_store = headers
            .get(http::header::AGE)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .map_or(Duration::ZERO, Duration::from_secs)
            .min(MAX_AGE);
        // Set again from the entry's own age when served.
        headers.remove(http::header::AGE);
        let tags = headers
            .get_all(&CACHE_TAG)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ' ']))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let vary: Vec<(HeaderName, Option<HeaderValue>)> = vary_names
            .into_iter()
            .map(|name| {
                let value = request.get(&name).map(compact_value);
                (name, value)
            })
            .collect();
        let headers_size: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let vary_size: usize = vary
            .iter()
            .map(|(name, value)| name.as_str().len() + value.as_ref().map_or(0, HeaderValue::len))
            .sum();
        Self {
            size: body.len() + headers_size + vary_size + ENTRY_OVERHEAD,
            status,
            headers,
            body,
            vary,
            stored: Instant::now(),
            age_at_store,
            freshness,
            tags,
            refreshing: AtomicBool::new(false),
        }
    }

    /// Its age now: what the zone said plus the time since.
    pub fn age(&self, now: Instant) -> Duration {
        self.age_at_store
            .saturating_add(now.saturating_duration_since(self.stored))
    }

    pub fn usable(&self, now: Instant) -> Use {
        let age = self.age(now);
        let fresh = self.freshness.fresh_for;
        if age < fresh {
            Use::Fresh
        } else if age < fresh.saturating_add(self.freshness.stale_while_revalidate) {
            Use::StaleWhileRevalidate
        } else if age < fresh.saturating_add(self.freshness.stale_if_error) {
            Use::StaleIfError
        } else {
            Use::Expired
        }
    }

    /// True for the one caller that should refresh it in the background.
    pub fn start_refresh(&self) -> bool {
        !self.refreshing.swap(true, Ordering::AcqRel)
    }

    /// The background refresh failed: a later request may try again.
    pub fn refresh_failed(&self) {
        self.refreshing.store(false, Ordering::Release);
    }

    fn answers(&self, request: &HeaderMap) -> bool {
        self.vary
            .iter()
            .all(|(name, value)| request.get(name) == value.as_ref())
    }

    fn same_variant(&self, other: &Entry) -> bool {
        self.vary == other.vary
    }

    pub fn size(&self) -> usize {
        self.size
    }
}

/// Every variant of one key.
struct Variants {
    path: String,
    entries: Vec<Arc<Entry>>,
}

/// What the cache holds for a request.
pub enum Found {
    Entry(Arc<Entry>),
    /// The key's last response could not be stored: go to the zone, no
    /// collapsing.
    Pass,
    Nothing,
}

/// How long a key whose response could not be stored is passed through.
pub const PASS_FOR: Duration = Duration::from_secs(10);
/// Keys passed through at most: kept apart from the stored responses, so
/// no number of them can push a page out.
const MAX_PASSES: usize = 2048;
/// The oldest `Age` believed from a zone (a year).
const MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Where a request's key stands when nothing usable is stored.
pub enum Lead {
    /// This request goes to the zone; the others wait until it is dropped.
    Leader(LeaderGuard),
    /// Another request of the same key is on its way; wait for it.
    Wait(watch::Receiver<()>),
}

/// Held by the request that fetches a key; its drop wakes the waiters.
pub struct LeaderGuard {
    cache: Arc<Shared>,
    key: String,
    _done: watch::Sender<()>,
}

impl Drop for LeaderGuard {
    fn drop(&mut self) {
        lock(&self.cache.pending).remove(&self.key);
    }
}

/// What `/_edge/status` shows.
#[derive(Debug, Serialize)]
pub struct CacheStatus {
    pub entries: usize,
    pub bytes: usize,
    pub capacity_bytes: usize,
    pub hits: u64,
    pub stale: u64,
    pub misses: u64,
    /// (hits + stale) / (hits + stale + misses), 0 before any request.
    pub hit_ratio: f64,
}

/// The cache: see the module documentation. Clones share the store.
#[derive(Clone)]
pub struct EdgeCache {
    shared: Arc<Shared>,
}

struct Shared {
    store: Mutex<Store>,
    /// Keys to pass through, and until when.
    passes: Mutex<LruCache<String, Instant>>,
    capacity: usize,
    pending: Mutex<HashMap<String, watch::Receiver<()>>>,
    hits: AtomicU64,
    stale: AtomicU64,
    misses: AtomicU64,
}

struct Store {
    keys: LruCache<String, Variants>,
    bytes: usize,
    entries: usize,
}

/// How a request was answered, for `X-Cache` and the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Stale,
    Miss,
}

impl Outcome {
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Hit => "HIT",
            Self::Stale => "STALE",
            Self::Miss => "MISS",
        })
    }
}

impl EdgeCache {
    /// A cache of at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                store: Mutex::new(Store {
                    keys: LruCache::unbounded(),
                    bytes: 0,
                    entries: 0,
                }),
                capacity,
                passes: Mutex::new(LruCache::new(
                    NonZeroUsize::new(MAX_PASSES).unwrap_or(NonZeroUsize::MIN),
                )),
                pending: Mutex::default(),
                hits: AtomicU64::new(0),
                stale: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }),
        }
    }

    /// The largest response stored.
    pub fn max_entry_bytes(&self) -> usize {
        self.shared.capacity / 8
    }

    /// The stored variant of `key` that answers `request`, if any.
    pub fn lookup(&self, key: &str, request: &HeaderMap) -> Found {
        {
            let mut store = lock(&self.shared.store);
            if let Some(variants) = store.keys.get(key)
                && let Some(entry) = variants.entries.iter().find(|e| e.answers(request))
            {
                return Found::Entry(entry.clone());
            }
        }
        let passes = lock(&self.shared.passes);
        match passes.peek(key) {
            Some(until) if Instant::now() < *until => Found::Pass,
            _ => Found::Nothing,
        }
    }

    /// Passes `key` straight to the zone for [`PASS_FOR`] (its response
    /// could not be stored).
    pub fn pass(&self, key: &str) {
        lock(&self.shared.passes).put(key.to_owned(), Instant::now() + PASS_FOR);
    }

    /// Drops every variant of `key` (the zone said the page is gone).
    pub fn forget(&self, key: &str) {
        let mut store = lock(&self.shared.store);
        if let Some(old) = store.keys.pop(key) {
            let sizes: usize = old.entries.iter().map(|e| e.size).sum();
            store.bytes -= key.len() + ENTRY_OVERHEAD + sizes;
            store.entries -= old.entries.len();
        }
    }

    /// Stores `entry` under `key` (for the page at `path`), replacing the
    /// same variant, then evicts the least recently used keys until the
    /// byte bound holds.
    pub fn insert(&self, key: String, path: &str, entry: Entry) {
        if entry.size > self.max_entry_bytes() {
            return;
        }
        let entry = Arc::new(entry);
        lock(&self.shared.passes).pop(&key);
        let mut store = lock(&self.shared.store);
        let variants = store.variants(key, path);
        let mut freed = 0;
        let mut removed = 0;
        variants.entries.retain(|old| {
            let keep = !old.same_variant(&entry);
            if !keep {
                freed += old.size;
                removed += 1;
            }
            keep
        });
        if variants.entries.len() >= MAX_VARIANTS {
            let oldest = variants.entries.remove(0);
            freed += oldest.size;
            removed += 1;
        }
        variants.entries.push(entry.clone());
        store.bytes = store.bytes + entry.size - freed;
        store.entries = store.entries + 1 - removed;
        store.evict(self.shared.capacity);
    }

    /// Leads the fetch of `key`, or waits for the request that does.
    pub fn lead(&self, key: &str) -> Lead {
        let mut pending = lock(&self.shared.pending);
        match pending.entry(key.to_owned()) {
            MapEntry::Occupied(waiting) => Lead::Wait(waiting.get().clone()),
            MapEntry::Vacant(slot) => {
                let (done, receiver) = watch::channel(());
                slot.insert(receiver);
                Lead::Leader(LeaderGuard {
                    cache: self.shared.clone(),
                    key: key.to_owned(),
                    _done: done,
                })
            }
        }
    }

    /// Removes every key whose path is `prefix` or below it (whole
    /// segments; `/` is everything) and every variant tagged `tag`;
    /// returns how many responses went.
    pub fn purge(&self, prefix: Option<&str>, tag: Option<&str>) -> usize {
        let mut store = lock(&self.shared.store);
        let store = &mut *store;
        let mut purged = 0;
        let mut bytes = 0;
        let mut emptied = Vec::new();
        for (key, variants) in store.keys.iter_mut() {
            let by_path = prefix.is_some_and(|p| crate::prefix::matches(p, &variants.path));
            variants.entries.retain(|entry| {
                let gone = by_path || tag.is_some_and(|t| entry.tags.iter().any(|e| e == t));
                if gone {
                    purged += 1;
                    bytes += entry.size;
                }
                !gone
            });
            if variants.entries.is_empty() {
                emptied.push(key.clone());
            }
        }
        for key in emptied {
            store.keys.pop(&key);
            bytes += key.len() + ENTRY_OVERHEAD;
        }
        store.bytes -= bytes;
        store.entries -= purged;
        purged
    }

    pub fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Hit => &self.shared.hits,
            Outcome::Stale => &self.shared.stale,
            Outcome::Miss => &self.shared.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn status(&self) -> CacheStatus {
        let (entries, bytes) = {
            let store = lock(&self.shared.store);
            (store.entries, store.bytes)
        };
        let hits = self.shared.hits.load(Ordering::Relaxed);
        let stale = self.shared.stale.load(Ordering::Relaxed);
        let misses = self.shared.misses.load(Ordering::Relaxed);
        let served = hits + stale;
        let total = served + misses;
        CacheStatus {
            entries,
            bytes,
            capacity_bytes: self.shared.capacity,
            hits,
            stale,
            misses,
            hit_ratio: if total == 0 {
                0.0
            } else {
                served as f64 / total as f64
            },
        }
    }
}

impl Store {
    /// The variants of `key` (for the page at `path`), made and counted
    /// when it is new; used, so it is now the most recently used.
    fn variants(&mut self, key: String, path: &str) -> &mut Variants {
        if !self.keys.contains(&key) {
            self.bytes += key.len() + ENTRY_OVERHEAD;
        }
        self.keys.get_or_insert_mut(key, || Variants {
            path: path.to_owned(),
            entries: Vec::new(),
        })
    }

    /// Drops the least recently used keys until `capacity` holds.
    fn evict(&mut self, capacity: usize) {
        while self.bytes > capacity {
            let Some((key, old)) = self.keys.pop_lru() else {
                break;
            };
            let sizes: usize = old.entries.iter().map(|e| e.size).sum();
            self.bytes -= key.len() + ENTRY_OVERHEAD + sizes;
            self.entries -= old.entries.len();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The store stays consistent even if a holder panicked mid-request:
    // every change is made under one lock and completes before it is let go.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn freshness(fresh: u64, swr: u64, sie: u64) -> Freshness {
        Freshness {
            fresh_for: Duration::from_secs(fresh),
            stale_while_revalidate: Duration::from_secs(swr),
            stale_if_error: Duration::from_secs(sie),
        }
    }

    fn entry(body: usize, request: &HeaderMap, vary: Vec<HeaderName>) -> Entry {
        Entry::new(
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from(vec![b'x'; body]),
            request,
            vary,
            freshness(5, 30, 60),
        )
    }

    impl Found {
        fn is_some(&self) -> bool {
            matches!(self, Found::Entry(_))
        }
        fn is_none(&self) -> bool {
            !self.is_some()
        }
        fn unwrap(self) -> Arc<Entry> {
            match self {
                Found::Entry(entry) => entry,
                _ => panic!("nothing stored"),
            }
        }
    }

    #[test]
    fn a_key_that_cannot_be_stored_is_passed_for_a_while() {
        let cache = EdgeCache::new(1 << 20);
        cache.pass("h/api/health");
        assert!(matches!(
            cache.lookup("h/api/health", &HeaderMap::new()),
            Found::Pass
        ));
        // Pass markers take no room from stored pages.
        assert_eq!(cache.status().bytes, 0);
        cache.insert(
            "h/api/health".into(),
            "/api/health",
            entry(1, &HeaderMap::new(), vec![]),
        );
        assert!(cache.lookup("h/api/health", &HeaderMap::new()).is_some());
        assert_eq!(cache.purge(Some("/"), None), 1);
        assert_eq!(cache.status().bytes, 0);
        // Any number of passes cannot push a page out.
        cache.insert("h/".into(), "/", entry(1, &HeaderMap::new(), vec![]));
        for i in 0..3 * MAX_PASSES {
            cache.pass(&format!("h/x?{i}"));
        }
        assert!(cache.lookup("h/", &HeaderMap::new()).is_some());
        cache.forget("h/");
        assert_eq!(cache.status().bytes, 0);
        assert_eq!(cache.status().entries, 0);
    }

    #[test]
    fn a_zone_s_age_cannot_overflow() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AGE, "18446744073709551615".parse().unwrap());
        let e = Entry::new(
            StatusCode::OK,
            headers,
            Bytes::new(),
            &HeaderMap::new(),
            vec![],
            freshness(u64::MAX, u64::MAX, u64::MAX),
        );
        let later = Instant::now() + Duration::from_secs(10);
        assert_eq!(e.usable(later), Use::Fresh);
    }

    #[test]
    fn the_byte_bound_holds_and_the_least_recently_used_go_first() {
        let cache = EdgeCache::new(64 * 1024);
        let none = HeaderMap::new();
        for i in 0..20 {
            cache.insert(
                format!("h/{i}"),
                &format!("/{i}"),
                entry(4000, &none, vec![]),
            );
            // Key 0 is used after every insert, so it stays.
            assert!(cache.lookup("h/0", &none).is_some(), "after {i}");
        }
        let status = cache.status();
        assert!(status.bytes <= 64 * 1024, "{status:?}");
        assert!(status.entries < 20 && status.entries > 10, "{status:?}");
        assert!(
            cache.lookup("h/1", &none).is_none(),
            "the least recently used went"
        );
        assert!(cache.lookup("h/19", &none).is_some());
        // Too big for one entry: not stored.
        cache.insert("h/big".into(), "/big", entry(9000, &none, vec![]));
        assert!(cache.lookup("h/big", &none).is_none());
    }

    #[test]
    fn variants_are_told_apart_by_the_vary_headers() {
        let cache = EdgeCache::new(1 << 20);
        let mut br = HeaderMap::new();
        br.insert(http::header::ACCEPT_ENCODING, "br".parse().unwrap());
        let mut gzip = HeaderMap::new();
        gzip.insert(http::header::ACCEPT_ENCODING, "gzip".parse().unwrap());
        let vary = vec![http::header::ACCEPT_ENCODING];
        cache.insert("k".into(), "/", entry(10, &br, vary.clone()));
        assert!(cache.lookup("k", &br).is_some());
        assert!(cache.lookup("k", &gzip).is_none());
        cache.insert("k".into(), "/", entry(20, &gzip, vary.clone()));
        cache.insert("k".into(), "/", entry(30, &gzip, vary));
        assert_eq!(cache.lookup("k", &gzip).unwrap().body.len(), 30);
        assert_eq!(cache.status().entries, 2);
    }

    #[test]
    fn lifetimes_decide_how_an_entry_is_used() {
        let e = entry(1, &HeaderMap::new(), vec![]);
        let now = e.stored;
        assert_eq!(e.usable(now), Use::Fresh);
        assert_eq!(
            e.usable(now + Duration::from_secs(6)),
            Use::StaleWhileRevalidate
        );
        assert_eq!(e.usable(now + Duration::from_secs(40)), Use::StaleIfError);
        assert_eq!(e.usable(now + Duration::from_secs(70)), Use::Expired);
        assert!(e.start_refresh());
        assert!(!e.start_refresh(), "one refresh at a time");
        e.refresh_failed();
        assert!(e.start_refresh());
    }

    #[test]
    fn purges_go_by_prefix_and_by_tag() {
        let cache = EdgeCache::new(1 << 20);
        let none = HeaderMap::new();
        let mut tagged = HeaderMap::new();
        tagged.insert(&CACHE_TAG, "catalogue, product-3".parse().unwrap());
        let tagged_entry = Entry::new(
            StatusCode::OK,
            tagged,
            Bytes::new(),
            &none,
            vec![],
            freshness(5, 0, 0),
        );
        cache.insert("h/shop".into(), "/shop", entry(1, &none, vec![]));
        cache.insert("h/shop/p/3".into(), "/shop/p/3", tagged_entry);
        cache.insert("h/shopping".into(), "/shopping", entry(1, &none, vec![]));
        cache.insert("h/".into(), "/", entry(1, &none, vec![]));
        assert_eq!(cache.purge(None, Some("product-3")), 1);
        assert_eq!(cache.purge(Some("/shop"), None), 1);
        assert!(cache.lookup("h/shopping", &none).is_some());
        assert_eq!(cache.purge(Some("/"), None), 2);
        assert_eq!(cache.status().entries, 0);
        assert_eq!(cache.status().bytes, 0);
    }

    #[tokio::test]
    async fn concurrent_misses_have_one_leader() {
        let cache = EdgeCache::new(1 << 20);
        let Lead::Leader(guard) = cache.lead("k") else {
            panic!("the first is the leader");
        };
        let Lead::Wait(mut waiting) = cache.lead("k") else {
            panic!("the second waits");
        };
        drop(guard);
        assert!(
            waiting.changed().await.is_err(),
            "woken when the leader is done"
        );
        assert!(matches!(cache.lead("k"), Lead::Leader(_)));
    }
}
