//! Following the revocation log: what a process that trusts session
//! tokens knows of ended sessions. [`RevocationFeed::follow`] reads the log
//! every poll interval (a high-water mark, so each read returns only what
//! is new), and at once when PostgreSQL announces an entry (`LISTEN`);
//! [`RevocationFeed::is_revoked`] answers from memory, and
//! [`RevocationFeed::is_current`] says whether that memory may be trusted:
//! a feed that has not caught up within its bound is stale, and a stale
//! feed is never silently trusted.
//!
//! The log is read from a [`RevocationSource`]: the store itself, or
//! identity's internal route for a zone without a database
//! (`crate::identity_feed`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::revocations::RETENTION_SECS;
use super::{Revocations, Store, StoreError, now};

/// How many log entries one read takes at most (it reads again until it
/// has caught up).
const PAGE: i64 = 1000;

/// How often entries older than the log's retention are dropped from
/// memory (not on every read: the scan holds the lock every check waits on).
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Where a feed reads the revocation log.
pub trait RevocationSource: Send + Sync + 'static {
    type Error: std::fmt::Display + Send;

    /// The sessions revoked after `mark`, oldest first, at most `limit`,
    /// with the mark to ask from next time.
    fn revocations_since(
        &self,
        mark: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Revocations, Self::Error>> + Send;

    /// Something that is notified when an entry is logged, if the source
    /// can tell (PostgreSQL's `NOTIFY`); the feed then reads at once
    /// instead of at its next poll.
    fn news(&self) -> Option<Arc<Notify>> {
        None
    }
}

impl RevocationSource for Store {
    type Error = StoreError;

    async fn revocations_since(&self, mark: i64, limit: i64) -> Result<Revocations, StoreError> {
        Store::revocations_since(self, mark, limit).await
    }

    fn news(&self) -> Option<Arc<Notify>> {
        self.listen_for_revocations()
    }
}

/// The revoked sessions one process knows of.
#[derive(Debug, Default)]
pub struct RevocationFeed {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Session id → when this process learnt of its revocation (Unix s).
    revoked: HashMap<String, i64>,
    mark: i64,
    /// When the last complete catch-up began.
    caught_up_at: Option<Instant>,
    /// When entries past [`RETENTION_SECS`] were last dropped.
    pruned_at: Option<Instant>,
}

impl RevocationFeed {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether the session `sid` has been revoked (as far as the last
    /// catch-up knows).
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.read().revoked.contains_key(sid)
    }

    /// Whether the feed caught up with the log less than `bound` ago.
    pub fn is_current(&self, bound: Duration) -> bool {
        self.read()
            .caught_up_at
            .is_some_and(|at| at.elapsed() < bound)
    }

    /// Reads everything logged since the last read; how many new
    /// revocations it found. The feed counts as caught up as of the moment
    /// the read *began*: whatever was logged after that may be unknown, so
    /// a slow read never stretches how old the knowledge it vouches for is.
    pub async fn catch_up<S: RevocationSource>(&self, source: &S) -> Result<usize, S::Error> {
        let began = Instant::now();
        let mut found = 0;
        loop {
            let mark = self.read().mark;
            let page = source.revocations_since(mark, PAGE).await?;
            let count = page.session_ids.len();
            found += count;
            let now = now();
            let mut state = self.write();
            for id in page.session_ids {
                state.revoked.insert(id, now);
            }
            state.mark = page.mark;
            if i64::try_from(count).unwrap_or(i64::MAX) < PAGE {
                state.caught_up_at = Some(began);
                if state.pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                    state
                        .revoked
                        .retain(|_, seen| *seen >= now - RETENTION_SECS);
                    state.pruned_at = Some(Instant::now());
                }
                return Ok(found);
            }
        }
    }

    /// Catches up every `every`, and at once when the source announces an
    /// entry, until the process ends. A failed read is logged when the
    /// feed goes stale and when it recovers, not on every attempt;
    /// meanwhile [`Self::is_current`] turns false.
    pub async fn follow<S: RevocationSource>(self: Arc<Self>, source: S, every: Duration) {
        let news = source.news();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            match &news {
                Some(news) => tokio::select! {
                    _ = tick.tick() => {}
                    () = news.notified() => {}
                },
                None => {
                    tick.tick().await;
                }
            }
            match self.catch_up(&source).await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("the revocation feed is current again");
                }
                Ok(_) => {}
                Err(err) if !failing => {
                    failing = true;
                    tracing::warn!(
                        "cannot read the revocation log: {err}; session tokens are not trusted \
                         until it can be read again"
                    );
                }
                Err(_) => {}
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
