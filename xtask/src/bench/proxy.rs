//! Edge overhead: the same zone URL fetched directly from the zone,
//! through the edge, through nginx and through a Node `http-proxy`, at a
//! few concurrency levels, with the runs of all of them interleaved so
//! that a noisy moment hits each; and the CPU time each process (nginx:
//! its master and workers) spent per request.

use std::collections::BTreeMap;

use nix::unistd::Pid;
use serde::Serialize;

use super::stats::Spread;
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
}

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
            for _ in 0..settings.repeats {
                for target in targets {
                    let url = format!("{}{path}", target.base);
                    let before = cpu::tree_seconds(target.pid)?;
                    let run = wrk::run(&url, concurrency, settings.run_length(), &[])?;
                    let spent = cpu::tree_seconds(target.pid)? - before;
                    let cpu_us = spent * 1e6 / run.requests.max(1) as f64;
                    runs.entry(target.name).or_default().push((run, cpu_us));
                }
            }
            let mut line = format!("    {path} with {concurrency:>3} connections:");
            for target in targets {
                let row = row(path, concurrency, target.name, &runs[target.name]);
                line.push_str(&format!(
                    "  {} {}/s p99 {} ms {} µs CPU;",
                    target.name,
                    row.load.requests_per_sec.show(0),
                    row.load.p99_ms.show(2),
                    row.cpu_us.show(0)
                ));
                rows.push(row);
            }
            println!("{}", line.trim_end_matches(';'));
        }
    }
    Ok(rows)
}

fn row(path: &str, concurrency: usize, target: &'static str, runs: &[(wrk::Run, f64)]) -> Row {
    let loads: Vec<wrk::Run> = runs.iter().map(|(run, _)| *run).collect();
    Row {
        path: path.to_owned(),
        concurrency,
        target,
        load: wrk::Summary::of(&loads),
        cpu_us: Spread::of(runs.iter().map(|(_, cpu)| *cpu)),
    }
}
