//! Edge overhead: the same zone URL fetched directly from the zone,
//! through the edge, through nginx and through a Node `http-proxy`, at a
//! few concurrency levels, and the CPU time each process (nginx: its
//! master and workers) spent per request.
//!
//! The runs go in rounds, the order rotated from round to round so that
//! no target always follows the same one. A target is compared with nginx
//! round by round (its figure ÷ nginx's in the same round), and the
//! verdict is the median of those ratios: a noisy minute of the shared
//! machine then moves both sides of one ratio rather than one side of the
//! comparison. Under load (more than one connection, where the edge is
//! judged) the edge and nginx run `proxy_rounds` rounds, the zone direct
//! and Node only the first `repeats`; at one connection every target runs
//! `repeats` rounds.

use std::collections::BTreeMap;

use nix::unistd::Pid;
use serde::Serialize;

use super::stats::{Spread, ratio};
use super::{Settings, cpu, wrk};

/// One way to reach the zone: its name, base URL and the process whose
/// CPU time (with its children's) is what it costs.
pub struct Target {
    pub name: &'static str,
    pub base: String,
    pub pid: Pid,
}

/// The figures of one target for one path at one concurrency.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub path: String,
    pub concurrency: usize,
    pub target: &'static str,
    #[serde(flatten)]
    pub load: wrk::Summary,
    /// CPU time of the target's process per request, µs.
    pub cpu_us: Spread,
    /// This target ÷ nginx, round by round (none for nginx itself).
    pub vs_nginx: Option<Paired>,
}

/// The ratios of one target's figures to nginx's in the same rounds.
#[derive(Clone, Debug, Serialize)]
pub struct Paired {
    pub requests_per_sec: Spread,
    pub p99_ms: Spread,
    pub cpu_us: Spread,
}

/// The reference proxy the others are paired with.
pub const REFERENCE: &str = "nginx";

pub fn run(targets: &[Target], paths: &[&str], settings: &Settings) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for path in paths {
        // Warm every target up: connection pools, caches, page faults.
        for target in targets {
            wrk::run(
                &format!("{}{path}", target.base),
                16,
                settings.warm_up(),
                &[],
            )?;
        }
        for &concurrency in &settings.concurrency {
            let mut runs: BTreeMap<&str, Vec<(wrk::Run, f64)>> = BTreeMap::new();
            let rounds = if concurrency > 1 {
                settings.proxy_rounds.max(settings.repeats)
            } else {
                settings.repeats
            };
            for round in 0..rounds {
                let taking: Vec<&Target> = targets
                    .iter()
                    .filter(|target| round < settings.repeats || is_judged(target.name))
                    .collect();
                for target in rotated(&taking, round) {
                    let url = format!("{}{path}", target.base);
                    let before = cpu::tree_seconds(target.pid)?;
                    let run = wrk::run(&url, concurrency, settings.run_length(), &[])?;
                    let spent = cpu::tree_seconds(target.pid)? - before;
                    let cpu_us = spent * 1e6 / run.requests.max(1) as f64;
                    runs.entry(target.name).or_default().push((run, cpu_us));
                }
            }
            let mut line = format!("    {path} with {concurrency:>3} connections:");
            let reference = runs.get(REFERENCE);
            for target in targets {
                let own = &runs[target.name];
                let mut row = row(path, concurrency, target.name, own);
                if target.name != REFERENCE {
                    row.vs_nginx = reference.map(|nginx| paired(own, nginx));
                }
                line.push_str(&format!(
                    "  {} {}/s p99 {} ms {} µs CPU",
                    target.name,
                    row.load.requests_per_sec.show(0),
                    row.load.p99_ms.show(2),
                    row.cpu_us.show(0)
                ));
                if let Some(paired) = &row.vs_nginx {
                    line.push_str(&format!(
                        " ({:.2}× nginx's req/s)",
                        paired.requests_per_sec.median
                    ));
                }
                line.push(';');
                rows.push(row);
            }
            println!("{}", line.trim_end_matches(';'));
        }
    }
    Ok(rows)
}

/// The edge and the proxy it is judged against run every round.
fn is_judged(target: &str) -> bool {
    target == "edge" || target == REFERENCE
}

/// `targets` in round `round`'s order: rotated by one each round.
fn rotated<T>(targets: &[T], round: usize) -> impl Iterator<Item = &T> {
    let start = round % targets.len().max(1);
    targets[start..].iter().chain(&targets[..start])
}

fn row(path: &str, concurrency: usize, target: &'static str, runs: &[(wrk::Run, f64)]) -> Row {
    let loads: Vec<wrk::Run> = runs.iter().map(|(run, _)| *run).collect();
    Row {
        path: path.to_owned(),
        concurrency,
        target,
        load: wrk::Summary::of(&loads),
        cpu_us: Spread::of(runs.iter().map(|(_, cpu)| *cpu)),
        vs_nginx: None,
    }
}

/// `own` ÷ `reference`, round by round (the two lists hold one run per
/// round, in round order).
fn paired(own: &[(wrk::Run, f64)], reference: &[(wrk::Run, f64)]) -> Paired {
    let ratios = |figure: fn(&(wrk::Run, f64)) -> f64| {
        Spread::of(
            own.iter()
                .zip(reference)
                .map(|(a, b)| ratio(figure(a), figure(b))),
        )
    };
    Paired {
        requests_per_sec: ratios(|(run, _)| run.requests_per_sec),
        p99_ms: ratios(|(run, _)| run.p99_ms),
        cpu_us: ratios(|(_, cpu)| *cpu),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(requests_per_sec: f64, p99_ms: f64) -> wrk::Run {
        wrk::Run {
            requests_per_sec,
            p99_ms,
            ..wrk::Run::default()
        }
    }

    #[test]
    fn each_round_starts_one_target_later() {
        let targets = ["direct", "edge", "nginx", "node"];
        let order = |round| rotated(&targets, round).copied().collect::<Vec<_>>();
        assert_eq!(order(0), ["direct", "edge", "nginx", "node"]);
        assert_eq!(order(1), ["edge", "nginx", "node", "direct"]);
        assert_eq!(order(5), order(1));
        assert!(is_judged("edge") && is_judged("nginx"));
        assert!(!is_judged("direct") && !is_judged("node"));
    }

    #[test]
    fn ratios_pair_runs_of_the_same_round() {
        // Round 2 is slow for both: paired, it is a tie like the others,
        // while the medians of each side alone would disagree.
        let edge = [
            (run(110.0, 1.0), 9.0),
            (run(105.0, 2.0), 10.0),
            (run(50.0, 8.0), 20.0),
        ];
        let nginx = [
            (run(100.0, 1.0), 10.0),
            (run(100.0, 1.0), 10.0),
            (run(45.0, 10.0), 20.0),
        ];
        let paired = paired(&edge, &nginx);
        assert!((paired.requests_per_sec.median - 1.1).abs() < 1e-9);
        assert!((paired.requests_per_sec.min - 1.05).abs() < 1e-9);
        assert!((paired.p99_ms.median - 1.0).abs() < 1e-9);
        assert!((paired.cpu_us.median - 1.0).abs() < 1e-9);
    }
}
