//! Section 8, the edge cache: anonymous pages the zones mark public (`/shop`,
//! `/`) through the bench stack's edge (cache off) and through a second
//! edge in front of the same zones with the cache on, interleaved; the
//! cached edge's hit ratio from `/_edge/status`; then the shop killed
//! while its catalogue is under load through the cached edge, which
//! should keep answering (stale-if-error) with no errors.
//!
//! Runs last on the stack: the shop stays down afterwards.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use contracts::Zone;
use serde::Serialize;

use super::budget::Budget;
use super::stats::ratio;
use super::{Settings, wrk};
use crate::probe;
use crate::project::Project;
use crate::stack::FreshStack;

/// Connections of the cache runs.
const CONNECTIONS: usize = 16;
/// The cache's size on the cached edge (the edge's default).
const CACHE_BYTES: &str = "67108864";
/// Into the outage run, when the shop is killed.
const KILL_AFTER: Duration = Duration::from_secs(1);

/// One page with the cache off and on.
#[derive(Clone, Debug, Serialize)]
pub struct PageRow {
    pub path: String,
    pub off: wrk::Summary,
    pub on: wrk::Summary,
}

/// The shop killed under load.
#[derive(Clone, Debug, Serialize)]
pub struct Outage {
    pub path: String,
    pub seconds: u64,
    pub requests: u64,
    pub requests_per_sec: f64,
    pub errors: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub pages: Vec<PageRow>,
    /// Hits and stale answers over all answers of the cached edge.
    pub hit_ratio: f64,
    pub outage: Outage,
}

pub fn run(project: &Project, stack: &mut FreshStack, settings: &Settings) -> anyhow::Result<Row> {
    let port = probe::free_ports(1)?[0];
    stack.spawn_edge(
        project,
        "edge-cached",
        port,
        &[("EDGE_CACHE_BYTES", CACHE_BYTES)],
    )?;
    let off = stack.ports.edge_url();
    let on = format!("http://127.0.0.1:{port}");
    let mut pages = Vec::new();
    for path in [Zone::Shop.home(), Zone::Public.home()] {
        let url = |base: &str| format!("{base}{path}");
        for base in [&off, &on] {
            wrk::run(&url(base), CONNECTIONS, settings.warm_up(), &[])?;
        }
        let (mut runs_off, mut runs_on) = (Vec::new(), Vec::new());
        for _ in 0..settings.repeats {
            runs_off.push(wrk::run(
                &url(&off),
                CONNECTIONS,
                settings.run_length(),
                &[],
            )?);
            runs_on.push(wrk::run(
                &url(&on),
                CONNECTIONS,
                settings.run_length(),
                &[],
            )?);
        }
        let row = PageRow {
            path: path.to_owned(),
            off: wrk::Summary::of(&runs_off),
            on: wrk::Summary::of(&runs_on),
        };
        println!(
            "    {path}: cache off {}/s p99 {} ms, on {}/s p99 {} ms",
            row.off.requests_per_sec.show(0),
            row.off.p99_ms.show(2),
            row.on.requests_per_sec.show(0),
            row.on.p99_ms.show(2)
        );
        pages.push(row);
    }
    let hit_ratio = hit_ratio(&on)?;
    let outage = outage(stack, &on, settings)?;
    println!(
        "    shop killed under load: {} requests in {} s, {} errors",
        outage.requests, outage.seconds, outage.errors
    );
    Ok(Row {
        pages,
        hit_ratio,
        outage,
    })
}

/// The cached edge's `cache.hit_ratio` from `/_edge/status`.
fn hit_ratio(edge: &str) -> anyhow::Result<f64> {
    let status: serde_json::Value =
        reqwest::blocking::get(format!("{edge}{}", contracts::zone::EDGE_STATUS_PATH))?
            .json()
            .context("the edge status is not JSON")?;
    status["cache"]["hit_ratio"]
        .as_f64()
        .context("the cached edge reports no cache")
}

/// Loads the shop's catalogue through the cached edge and kills the shop
/// a second in.
fn outage(stack: &mut FreshStack, edge: &str, settings: &Settings) -> anyhow::Result<Outage> {
    let path = Zone::Shop.home();
    let seconds = (settings.seconds * 2).max(3);
    let url = format!("{edge}{path}");
    let load =
        std::thread::spawn(move || wrk::run(&url, CONNECTIONS, Duration::from_secs(seconds), &[]));
    std::thread::sleep(KILL_AFTER);
    stack.supervisor.kill(Zone::Shop.name())?;
    let run = load
        .join()
        .map_err(|_| anyhow::anyhow!("the load thread panicked"))??;
    Ok(Outage {
        path: path.to_owned(),
        seconds,
        requests: run.requests,
        requests_per_sec: run.requests_per_sec,
        errors: run.errors,
    })
}

impl Row {
    /// The cache must multiply an anonymous page's throughput, and keep
    /// the catalogue answering through an outage.
    pub fn budgets(&self) -> Vec<Budget> {
        let mut budgets: Vec<Budget> = self
            .pages
            .iter()
            .map(|page| {
                let (on, off) = (
                    page.on.requests_per_sec.median,
                    page.off.requests_per_sec.median,
                );
                Budget {
                    what: format!("edge cache: anonymous `{}`, on ÷ off", page.path),
                    limit: "> 1×".into(),
                    measured: format!("{:.2}× ({on:.0} / {off:.0} req/s)", ratio(on, off)),
                    met: on > off,
                }
            })
            .collect();
        budgets.push(Budget {
            what: format!("edge cache: `{}` with the shop killed", self.outage.path),
            limit: "0 errors".into(),
            measured: format!(
                "{} errors in {} requests",
                self.outage.errors, self.outage.requests
            ),
            met: self.outage.errors == 0 && self.outage.requests > 0,
        });
        budgets
    }

    pub fn table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "## 8. Edge cache (anonymous pages, {CONNECTIONS} connections)\n"
        );
        let _ = writeln!(
            md,
            "| page | cache off req/s | cache on req/s | on ÷ off | p99 ms off / on |\n\
             |---|---:|---:|---:|---:|"
        );
        for page in &self.pages {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {:.2} | {:.2} / {:.2} |",
                page.path,
                page.off.requests_per_sec.show(0),
                page.on.requests_per_sec.show(0),
                ratio(
                    page.on.requests_per_sec.median,
                    page.off.requests_per_sec.median
                ),
                page.off.p99_ms.median,
                page.on.p99_ms.median,
            );
        }
        let o = &self.outage;
        let _ = writeln!(
            md,
            "\nHit ratio of the cached edge over these runs: {:.3}. The shop killed {} s into \
             a {} s load of `{}` through the cached edge: {} requests ({:.0}/s), {} errors.\n",
            self.hit_ratio,
            KILL_AFTER.as_secs(),
            o.seconds,
            o.path,
            o.requests,
            o.requests_per_sec,
            o.errors
        );
    }
}
