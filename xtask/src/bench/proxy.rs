//! Edge overhead: the same zone URL fetched directly from the zone,
//! through the edge and through nginx, at a few concurrency levels, with
//! the runs of all three interleaved so that a noisy moment hits each.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Settings, wrk};

/// One way to reach the zone: its name and base URL.
pub struct Target {
    pub name: &'static str,
    pub base: String,
}

/// The figures of one target for one path at one concurrency.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub path: String,
    pub concurrency: usize,
    pub target: &'static str,
    #[serde(flatten)]
    pub load: wrk::Summary,
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
            let mut runs: BTreeMap<&str, Vec<wrk::Run>> = BTreeMap::new();
            for _ in 0..settings.repeats {
                for target in targets {
                    let url = format!("{}{path}", target.base);
                    let run = wrk::run(&url, concurrency, settings.run_length(), &[])?;
                    runs.entry(target.name).or_default().push(run);
                }
            }
            let mut line = format!("    {path} with {concurrency:>3} connections:");
            for target in targets {
                let row = row(path, concurrency, target.name, &runs[target.name]);
                line.push_str(&format!(
                    "  {} {}/s p99 {} ms;",
                    target.name,
                    row.load.requests_per_sec.show(0),
                    row.load.p99_ms.show(2)
                ));
                rows.push(row);
            }
            println!("{}", line.trim_end_matches(';'));
        }
    }
    Ok(rows)
}

fn row(path: &str, concurrency: usize, target: &'static str, runs: &[wrk::Run]) -> Row {
    Row {
        path: path.to_owned(),
        concurrency,
        target,
        load: wrk::Summary::of(runs),
    }
}
