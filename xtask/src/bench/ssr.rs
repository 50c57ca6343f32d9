//! Zone SSR throughput: each zone's main page through the edge, anonymous
//! and signed in (the cookies a browser holds), with the CPU the zone and
//! the edge spent per request (from /proc, around each run), in one
//! session mode per stack.

use contracts::Zone;
use nix::unistd::Pid;
use serde::Serialize;

use super::stats::Spread;
use super::{Settings, cpu, wrk};

/// One zone page, signed in or not.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `SESSION_MODE` of the stack: `token` or `store`.
    pub mode: &'static str,
    pub zone: &'static str,
    pub path: &'static str,
    pub signed_in: bool,
    #[serde(flatten)]
    pub load: wrk::Summary,
    /// CPU time of the zone process per request, in microseconds.
    pub zone_cpu_us: Spread,
    /// CPU time of the edge per request, in microseconds.
    pub edge_cpu_us: Spread,
}

/// What the runs need: the stack's session mode, the edge's URL, the
/// processes to watch and the `Cookie` header of a signed-in user.
pub struct Setup {
    pub mode: &'static str,
    pub edge: String,
    pub edge_pid: Pid,
    pub zone_pids: Vec<(Zone, Pid)>,
    pub cookie: String,
}

pub fn run(setup: &Setup, settings: &Settings) -> anyhow::Result<Vec<Row>> {
    let concurrency = settings.ssr_concurrency;
    let mut rows = Vec::new();
    for &(zone, zone_pid) in &setup.zone_pids {
        for signed_in in [false, true] {
            let url = format!("{}{}", setup.edge, zone.home());
            let headers = if signed_in {
                vec![format!("Cookie: {}", setup.cookie)]
            } else {
                Vec::new()
            };
            wrk::run(&url, concurrency, settings.warm_up(), &headers)?;
            let mut runs = Vec::new();
            let mut zone_cpu = Vec::new();
            let mut edge_cpu = Vec::new();
            for _ in 0..settings.repeats {
                let before = (cpu::seconds(zone_pid)?, cpu::seconds(setup.edge_pid)?);
                let run = wrk::run(&url, concurrency, settings.run_length(), &headers)?;
                let after = (cpu::seconds(zone_pid)?, cpu::seconds(setup.edge_pid)?);
                let per_request = |spent: f64| spent * 1e6 / run.requests.max(1) as f64;
                zone_cpu.push(per_request(after.0 - before.0));
                edge_cpu.push(per_request(after.1 - before.1));
                runs.push(run);
            }
            let row = Row {
                mode: setup.mode,
                zone: zone.name(),
                path: zone.home(),
                signed_in,
                load: wrk::Summary::of(&runs),
                zone_cpu_us: Spread::of(zone_cpu),
                edge_cpu_us: Spread::of(edge_cpu),
            };
            println!(
                "    {:<5} {:<8} {:<6} {:<9} {}/s  p50 {} ms  p99 {} ms  zone CPU {} µs/req",
                row.mode,
                row.zone,
                row.path,
                if signed_in { "signed in" } else { "anonymous" },
                row.load.requests_per_sec.show(0),
                row.load.p50_ms.show(2),
                row.load.p99_ms.show(2),
                row.zone_cpu_us.show(0),
            );
            rows.push(row);
        }
    }
    Ok(rows)
}
