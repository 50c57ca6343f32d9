//! Per-client-IP rate limits from the manifest's `[[limit]]` entries: one
//! token bucket per (limit, client), as nginx's `limit_req` with `burst`.
//!
//! Written here rather than with `governor`: its keyed limiter grows without
//! bound between `retain_recent` sweeps, so a flood from many addresses
//! could fill memory. Here each shard holds at most a fixed number of
//! clients; buckets that have refilled (a full bucket is the same as no
//! bucket) are swept on the way, and when a shard is full of active
//! clients, new ones share one overflow bucket per limit, so the flood is
//! still limited as a whole.

use std::borrow::Cow;
use std::cell::LazyCell;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::Method;

use crate::manifest::LimitSpec;
use crate::prefix;

/// Clients tracked at most, over all limits (about 80 bytes each).
pub const DEFAULT_MAX_CLIENTS: usize = 64 * 1024;
const SHARDS: usize = 16;
/// How often a shard drops the buckets that have refilled.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Why a `[[limit]]` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("limit `{0}`: the path must look like a route prefix (absolute, no dot segments)")]
    BadPath(String),
    #[error("limit `{path}`: `{method}` is not an HTTP method")]
    BadMethod { path: String, method: String },
    #[error("limit `{0}`: burst must be at least 1 and per_second a positive number")]
    BadRate(String),
}

/// A validated `[[limit]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitRule {
    pub path: String,
    /// Empty: every method.
    pub methods: Vec<Method>,
    pub burst: u32,
    pub per_second: f64,
}

impl LimitRule {
    pub fn from_spec(spec: &LimitSpec) -> Result<Self, LimitError> {
        if !prefix::is_valid(&spec.path) {
            return Err(LimitError::BadPath(spec.path.clone()));
        }
        let methods = spec
            .methods
            .iter()
            .map(|m| {
                Method::from_bytes(m.trim().to_ascii_uppercase().as_bytes()).map_err(|_| {
                    LimitError::BadMethod {
                        path: spec.path.clone(),
                        method: m.clone(),
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        if spec.burst == 0 || !(spec.per_second.is_finite() && spec.per_second > 0.0) {
            return Err(LimitError::BadRate(spec.path.clone()));
        }
        Ok(Self {
            path: spec.path.clone(),
            methods,
            burst: spec.burst,
            per_second: spec.per_second,
        })
    }

    /// Whether a request is counted by this limit. `GET` also counts `HEAD`
    /// (a zone answers HEAD with its GET handler). `path` is decoded.
    fn matches(&self, method: &Method, path: &str) -> bool {
        let method_ok = self.methods.is_empty()
            || self
                .methods
                .iter()
                .any(|m| m == method || (*m == Method::GET && *method == Method::HEAD));
        method_ok && prefix::matches(&self.path, path)
    }

    /// Seconds for an empty bucket to fill up again.
    fn refill_time(&self) -> f64 {
        f64::from(self.burst) / self.per_second
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rule: &LimitRule, now: Instant) -> Self {
        Self {
            tokens: f64::from(rule.burst),
            updated: now,
        }
    }

    fn is_full(&self, rule: &LimitRule, now: Instant) -> bool {
        now.saturating_duration_since(self.updated).as_secs_f64() >= rule.refill_time()
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, rule: &LimitRule, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rule.per_second).min(f64::from(rule.burst));
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / rule.per_second,
            ))
        }
    }
}

/// (limit index, client key)
type Key = (usize, u128);

struct Shard {
    buckets: HashMap<Key, Bucket>,
    /// Shared by the clients that arrive while the shard is full, per limit.
    overflow: HashMap<usize, Bucket>,
    next_sweep: Instant,
}

/// Every limit's buckets.
pub struct RateLimiter {
    rules: Vec<LimitRule>,
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hasher: RandomState,
}

impl RateLimiter {
    pub fn new(rules: Vec<LimitRule>) -> Self {
        Self::with_capacity(rules, DEFAULT_MAX_CLIENTS)
    }

    /// A limiter that tracks at most about `max_clients` buckets.
    pub fn with_capacity(rules: Vec<LimitRule>, max_clients: usize) -> Self {
        let now = Instant::now();
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    buckets: HashMap::new(),
                    overflow: HashMap::new(),
                    next_sweep: now + SWEEP_EVERY,
                })
            })
            .collect();
        Self {
            rules,
            shards,
            per_shard: (max_clients / SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    pub fn rules(&self) -> &[LimitRule] {
        &self.rules
    }

    /// Counts the request against every limit it matches; `Err(wait)` when
    /// one is exhausted (`wait`: until the client's next token).
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        client: impl FnOnce() -> IpAddr,
        now: Instant,
    ) -> Result<(), Duration> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let path = decode(path);
        // Worked out once, and only when a rule covers the request.
        let client = LazyCell::new(|| client_key(client()));
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.matches(method, &path) {
                self.take((index, *client), now)?;
            }
        }
        Ok(())
    }

    /// Buckets held now (for tests and status).
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.buckets.len()))
            .sum()
    }

    fn take(&self, key: Key, now: Instant) -> Result<(), Duration> {
        let rule = &self.rules[key.0];
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        // A poisoned lock only means another request panicked mid-update;
        // the buckets are still plain numbers.
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if now >= shard.next_sweep || shard.buckets.len() >= self.per_shard {
            self.sweep(&mut shard, now);
        }
        if let Some(bucket) = shard.buckets.get_mut(&key) {
            return bucket.take(rule, now);
        }
        if shard.buckets.len() < self.per_shard {
            let mut bucket = Bucket::full(rule, now);
            let result = bucket.take(rule, now);
            shard.buckets.insert(key, bucket);
            return result;
        }
        shard
            .overflow
            .entry(key.0)
            .or_insert_with(|| Bucket::full(rule, now))
            .take(rule, now)
    }

    /// Drops every bucket that has refilled (shards also do this on their
    /// own every few seconds while used).
    pub fn sweep_all(&self, now: Instant) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            self.sweep(&mut shard, now);
        }
    }

    fn sweep(&self, shard: &mut Shard, now: Instant) {
        let rules = &self.rules;
        shard
            .buckets
            .retain(|(index, _), bucket| !bucket.is_full(&rules[*index], now));
        shard.next_sweep = now + SWEEP_EVERY;
    }
}

/// IPv4 addresses (also IPv4-mapped IPv6) count one by one; IPv6 per /64,
/// the block one subscriber usually gets (so rotating addresses in it does
/// not escape the limit).
pub(crate) fn client_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) << 64,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)) << 64,
            // The low bit marks IPv6 keys apart from IPv4 ones (`::/64`).
            None => (u128::from(v6) & !u128::from(u64::MAX)) | 1,
        },
    }
}

/// The path with percent-escapes decoded, so `/auth/%6cogin` counts as
/// `/auth/login` (encoded slashes and dots never get this far: `check_path`).
fn decode(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// `Retry-After` in whole seconds (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, methods: &[&str], burst: u32, per_second: f64) -> LimitRule {
        LimitRule::from_spec(&LimitSpec {
            path: path.into(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            burst,
            per_second,
        })
        .unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const GET: Method = Method::GET;

    #[test]
    fn the_client_is_worked_out_only_for_a_request_a_rule_covers() {
        let limiter = RateLimiter::new(vec![rule("/auth/login", &["GET"], 3, 2.0)]);
        let t0 = Instant::now();
        let asked = std::cell::Cell::new(0);
        let client = || {
            asked.set(asked.get() + 1);
            ip("203.0.113.9")
        };
        assert!(limiter.check(&GET, "/api/health", client, t0).is_ok());
        assert!(
            limiter
                .check(&Method::POST, "/auth/login", client, t0)
                .is_ok()
        );
        assert_eq!(asked.get(), 0);
        assert!(limiter.check(&GET, "/auth/login", client, t0).is_ok());
        assert_eq!(asked.get(), 1);
    }

    #[test]
    fn a_burst_then_refusal_then_refill() {
        let limiter = RateLimiter::new(vec![rule("/auth/login", &["GET"], 3, 2.0)]);
        let t0 = Instant::now();
        let client = ip("203.0.113.9");
        for _ in 0..3 {
            assert_eq!(limiter.check(&GET, "/auth/login", || client, t0), Ok(()));
        }
        let wait = limiter
            .check(&GET, "/auth/login", || client, t0)
            .unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Another client and another path are not affected.
        assert!(
            limiter
                .check(&GET, "/auth/login", || ip("203.0.113.10"), t0)
                .is_ok()
        );
        assert!(limiter.check(&GET, "/auth", || client, t0).is_ok());
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.check(&GET, "/auth/login", || client, t1).is_ok());
        assert!(limiter.check(&GET, "/auth/login", || client, t1).is_err());
    }

    #[test]
    fn matching_follows_methods_and_whole_segments() {
        let limiter = RateLimiter::new(vec![
            rule("/auth/login", &["get"], 1, 1.0),
            rule("/shop/api/cart/add", &["POST"], 1, 1.0),
        ]);
        let t = Instant::now();
        let limited = |method: Method, path: &str, client: &str| {
            limiter.check(&method, path, || ip(client), t).is_ok()
                && limiter.check(&method, path, || ip(client), t).is_err()
        };
        assert!(
            limited(Method::HEAD, "/auth/login", "192.0.2.1"),
            "GET covers HEAD"
        );
        assert!(
            limited(GET, "/auth/%6Cogin", "192.0.2.2"),
            "escapes are decoded"
        );
        assert!(limited(GET, "/auth/login/", "192.0.2.3"), "whole segments");
        assert!(!limited(GET, "/auth/login-help", "192.0.2.4"));
        assert!(!limited(Method::POST, "/auth/login", "192.0.2.5"));
        assert!(limited(Method::POST, "/shop/api/cart/add", "192.0.2.6"));
        assert!(!limited(GET, "/shop/api/cart/add", "192.0.2.7"));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_per_address() {
        let limiter = RateLimiter::new(vec![rule("/", &[], 1, 1.0)]);
        let t = Instant::now();
        assert!(
            limiter
                .check(&GET, "/", || ip("2001:db8:1:2::1"), t)
                .is_ok()
        );
        assert!(
            limiter
                .check(&GET, "/", || ip("2001:db8:1:2::ffff"), t)
                .is_err()
        );
        assert!(
            limiter
                .check(&GET, "/", || ip("2001:db8:1:3::1"), t)
                .is_ok()
        );
        assert!(
            limiter
                .check(&GET, "/", || ip("::ffff:192.0.2.1"), t)
                .is_ok()
        );
        assert!(
            limiter.check(&GET, "/", || ip("192.0.2.1"), t).is_err(),
            "same client"
        );
        assert!(
            limiter
                .check(&GET, "/", || ip("::ffff:192.0.2.2"), t)
                .is_ok()
        );
    }

    #[test]
    fn memory_stays_bounded_and_idle_buckets_go() {
        let limiter = RateLimiter::with_capacity(vec![rule("/auth/login", &["GET"], 2, 1.0)], 64);
        let t0 = Instant::now();
        let mut refused = 0;
        for n in 0..5_000u32 {
            let client = IpAddr::from(n.to_be_bytes());
            if limiter.check(&GET, "/auth/login", || client, t0).is_err() {
                refused += 1;
            }
        }
        assert!(limiter.tracked() <= 64, "{} buckets", limiter.tracked());
        // Past the cap, new clients share an overflow bucket per shard: the
        // flood as a whole is still limited.
        assert!(refused > 4_000, "only {refused} refused");
        // Not yet refilled: nothing to drop.
        limiter.sweep_all(t0 + Duration::from_secs(1));
        assert!(limiter.tracked() > 32);
        // Refilled (2 s here): a full bucket is the same as none.
        let later = t0 + Duration::from_secs(2);
        limiter.sweep_all(later);
        assert_eq!(limiter.tracked(), 0);
        let fresh = ip("198.51.100.1");
        assert!(limiter.check(&GET, "/auth/login", || fresh, later).is_ok());
        assert!(limiter.check(&GET, "/auth/login", || fresh, later).is_ok());
        assert!(limiter.check(&GET, "/auth/login", || fresh, later).is_err());
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn bad_limits_are_refused() {
        let spec = |path: &str, methods: &[&str], burst, per_second| LimitSpec {
            path: path.into(),
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            burst,
            per_second,
        };
        let err = |s: LimitSpec| LimitRule::from_spec(&s).unwrap_err();
        assert_eq!(
            err(spec("auth", &[], 1, 1.0)),
            LimitError::BadPath("auth".into())
        );
        assert_eq!(
            err(spec("/a", &["G T"], 1, 1.0)),
            LimitError::BadMethod {
                path: "/a".into(),
                method: "G T".into()
            }
        );
        assert_eq!(
            err(spec("/a", &[], 0, 1.0)),
            LimitError::BadRate("/a".into())
        );
        assert_eq!(
            err(spec("/a", &[], 1, 0.0)),
            LimitError::BadRate("/a".into())
        );
        assert_eq!(
            err(spec("/a", &[], 1, f64::NAN)),
            LimitError::BadRate("/a".into())
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
