//! Login throughput: whole sign-in flows through the edge and the mock IdP
//! (start → IdP form post → callback that creates the session), by many
//! concurrent clients of the load generator: an upper bound for what the
//! identity zone can sign in.

use serde::Serialize;
use tokio::runtime::Runtime;
use tokio::time::Instant;

use super::Settings;
use super::stats::Spread;
use crate::load::{self, Plan};

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub clients: usize,
    pub flows_per_sec: Spread,
    /// Wall time of one whole flow (three requests and their redirects).
    pub flow_p50_ms: Spread,
    pub flow_p99_ms: Spread,
    pub failures: usize,
}

pub fn run(runtime: &Runtime, edge: &str, settings: &Settings) -> anyhow::Result<Row> {
    let clients = settings.login_clients;
    let plan = Plan {
        users: clients,
        duration: settings.run_length(),
        views_per_session: 0,
        sign_out: false,
    };
    let mut reports = Vec::new();
    for _ in 0..settings.repeats {
        let report = runtime.block_on(load::run(edge.to_owned(), plan, Instant::now()))?;
        if report.failed() > 0 {
            println!("{}", report.summary("login flows"));
        }
        reports.push(report);
    }
    let row = Row {
        clients,
        flows_per_sec: Spread::of(
            reports
                .iter()
                .map(|r| r.logins as f64 / r.elapsed.as_secs_f64().max(f64::EPSILON)),
        ),
        flow_p50_ms: Spread::of(reports.iter().map(|r| r.sign_in_ms(0.5))),
        flow_p99_ms: Spread::of(reports.iter().map(|r| r.sign_in_ms(0.99))),
        failures: reports.iter().map(load::Report::failed).sum(),
    };
    println!(
        "    {clients} clients: {} sign-ins/s, flow p50 {} ms, p99 {} ms, {} failed",
        row.flows_per_sec.show(0),
        row.flow_p50_ms.show(1),
        row.flow_p99_ms.show(1),
        row.failures
    );
    Ok(row)
}
