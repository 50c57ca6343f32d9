//! The instances behind each zone: round-robin over the healthy ones,
//! passive health (a failed connect takes an instance out for a while) and
//! the state an active probe keeps up to date.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::uri::Authority;
use serde::Serialize;

use crate::target::Target;

/// One instance of a zone.
#[derive(Debug)]
pub struct Upstream {
    pub authority: Authority,
    /// Until when passive health keeps this instance out of rotation.
    down_until: Mutex<Option<Instant>>,
    /// What the last active probe said (instances start healthy).
    probe_ok: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// Every instance of one zone (or of the mock provider).
#[derive(Debug)]
pub struct UpstreamGroup {
    pub target: Target,
    upstreams: Vec<Upstream>,
    next: AtomicUsize,
    /// How long a failed instance stays out of rotation.
    cool_down: Duration,
}

/// What `/_edge/status` shows for an instance.
#[derive(Debug, Serialize)]
pub struct UpstreamStatus {
    pub address: String,
    pub up: bool,
    pub last_error: Option<String>,
}

impl UpstreamGroup {
    pub fn new(target: Target, authorities: Vec<Authority>, cool_down: Duration) -> Self {
        let upstreams = authorities
            .into_iter()
            .map(|authority| Upstream {
                authority,
                down_until: Mutex::new(None),
                probe_ok: AtomicBool::new(true),
                last_error: Mutex::new(None),
            })
            .collect();
        Self {
            target,
            upstreams,
            next: AtomicUsize::new(0),
            cool_down,
        }
    }

    pub fn len(&self) -> usize {
        self.upstreams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.upstreams.is_empty()
    }

    pub fn get(&self, index: usize) -> &Upstream {
        &self.upstreams[index % self.upstreams.len()]
    }

    /// The next instance in round-robin order that is up, skipping
    /// `except`. When none is up, the next one anyway (so a recovered zone
    /// serves again at once rather than after the next probe).
    pub fn pick(&self, except: Option<usize>) -> Option<usize> {
        let n = self.upstreams.len();
        if n == 0 || (n == 1 && except == Some(0)) {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let candidates = (0..n)
            .map(|i| (start + i) % n)
            .filter(|i| Some(*i) != except);
        let mut fallback = None;
        for i in candidates {
            if self.is_up(i) {
                return Some(i);
            }
            fallback.get_or_insert(i);
        }
        fallback
    }

    /// Passive health: a connect to `index` failed.
    pub fn mark_failed(&self, index: usize, error: &str) {
        let upstream = self.get(index);
        if let Ok(mut until) = upstream.down_until.lock() {
            *until = Some(Instant::now() + self.cool_down);
        }
        set(&upstream.last_error, Some(error.to_owned()));
    }

    /// A request to `index` got a response: it is up.
    pub fn mark_ok(&self, index: usize) {
        if let Ok(mut until) = self.get(index).down_until.lock() {
            *until = None;
        }
    }

    /// Active health: the probe of `index` succeeded or failed.
    pub fn record_probe(&self, index: usize, result: Result<(), String>) {
        let upstream = self.get(index);
        match result {
            Ok(()) => {
                upstream.probe_ok.store(true, Ordering::Relaxed);
                self.mark_ok(index);
            }
            Err(error) => {
                upstream.probe_ok.store(false, Ordering::Relaxed);
                set(&upstream.last_error, Some(error));
            }
        }
    }

    pub fn is_up(&self, index: usize) -> bool {
        let upstream = self.get(index);
        let passive_down = upstream
            .down_until
            .lock()
            .ok()
            .and_then(|until| *until)
            .is_some_and(|until| Instant::now() < until);
        upstream.probe_ok.load(Ordering::Relaxed) && !passive_down
    }

    pub fn status(&self) -> Vec<UpstreamStatus> {
        (0..self.upstreams.len())
            .map(|i| {
                let upstream = &self.upstreams[i];
                UpstreamStatus {
                    address: upstream.authority.to_string(),
                    up: self.is_up(i),
                    last_error: upstream.last_error.lock().ok().and_then(|e| e.clone()),
                }
            })
            .collect()
    }
}

fn set(slot: &Mutex<Option<String>>, value: Option<String>) {
    if let Ok(mut slot) = slot.lock() {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(n: usize) -> UpstreamGroup {
        let authorities = (0..n)
            .map(|i| format!("127.0.0.1:{}", 4000 + i).parse().unwrap())
            .collect();
        UpstreamGroup::new(
            Target::Zone(contracts::Zone::Shop),
            authorities,
            Duration::from_secs(60),
        )
    }

    #[test]
    fn round_robin_visits_every_instance() {
        let g = group(3);
        let picks: Vec<_> = (0..6).map(|_| g.pick(None).unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn failed_instances_are_skipped_until_they_recover() {
        let g = group(3);
        g.mark_failed(1, "connection refused");
        let picks: Vec<_> = (0..4).map(|_| g.pick(None).unwrap()).collect();
        assert!(!picks.contains(&1), "{picks:?}");
        assert_eq!(
            g.status()[1].last_error.as_deref(),
            Some("connection refused")
        );
        assert!(!g.status()[1].up);
        g.mark_ok(1);
        assert!(g.is_up(1));
    }

    #[test]
    fn a_failing_probe_takes_an_instance_out() {
        let g = group(2);
        g.record_probe(0, Err("503".into()));
        assert!((0..4).all(|_| g.pick(None) == Some(1)));
        g.record_probe(0, Ok(()));
        assert!(g.is_up(0));
    }

    #[test]
    fn retry_picks_another_instance() {
        let g = group(2);
        assert_eq!(g.pick(Some(0)), Some(1));
        assert_eq!(
            group(1).pick(Some(0)),
            None,
            "no other instance to retry on"
        );
    }

    #[test]
    fn when_all_are_down_one_is_still_tried() {
        let g = group(2);
        g.mark_failed(0, "x");
        g.mark_failed(1, "x");
        assert!(g.pick(None).is_some());
    }
}
