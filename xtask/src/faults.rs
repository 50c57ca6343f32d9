//! Load and fault tests against the release build, loopback only:
//!
//! * SQLite: one process per zone on one file, under load: no failures,
//!   no lost sessions.
//! * PostgreSQL, several instances per zone: steady load; one shop
//!   instance killed mid-load (the edge fails over); every shop instance
//!   killed (shop paths get the edge's 502 page, the other zones serve) and
//!   restarted (service resumes, same edge); PostgreSQL restarted under load
//!   (zones reconnect on their own); the database unreachable when a zone
//!   starts (it logs, retries, and comes up; or gives up with a clear error).
//!
//! `cargo xtask test` runs them bounded (seconds each); `cargo xtask soak`
//! runs them long. Figures are printed as a table at the end.

use std::fs;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use contracts::Zone;
use tokio::time::Instant;

use crate::load::{self, Plan, Report};
use crate::postgres::{self, Postgres};
use crate::probe;
use crate::project::{Project, step};
use crate::stack::{self, FreshStack, Limits, local};
use crate::supervisor::Sink;

/// How hard and how long.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Concurrent virtual users.
    pub users: usize,
    /// Length of each load phase.
    pub phase: Duration,
    /// Instances per zone on PostgreSQL.
    pub instances: usize,
}

impl Scale {
    /// Seconds, not minutes: part of every `cargo xtask test`.
    pub fn bounded() -> Self {
        Self {
            users: 16,
            phase: Duration::from_secs(4),
            instances: 2,
        }
    }

    /// `cargo xtask soak`.
    pub fn soak(seconds: u64, users: usize, instances: usize) -> Self {
        Self {
            users,
            phase: Duration::from_secs(seconds),
            instances,
        }
    }

    fn plan(&self) -> Plan {
        Plan {
            users: self.users,
            duration: self.phase,
            views_per_session: 12,
            sign_out: true,
        }
    }
}

/// One line of the final table.
struct Row {
    scenario: String,
    report: Option<Report>,
    /// Failover or recovery time, when the scenario has one.
    recovery: Option<Duration>,
    note: String,
}

/// Runs every scenario; fails on the first one that does not hold.
pub fn run(project: &Project, scale: Scale) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut rows = Vec::new();
    // The PostgreSQL scenarios are promised: without PostgreSQL the run fails.
    let result = sqlite(project, scale, &runtime, &mut rows).and_then(|()| {
        let bin = postgres::binaries().context("the PostgreSQL load and fault tests cannot run")?;
        on_postgres(project, scale, &runtime, &bin, &mut rows)
    });
    print_table(&rows);
    result
}

/// Under load a log line per request would be the bottleneck.
const QUIET: &[(&str, &str)] = &[("RUST_LOG", "warn")];

impl FreshStack {
    fn load(&self, runtime: &tokio::runtime::Runtime, plan: Plan) -> anyhow::Result<Report> {
        runtime.block_on(load::run(self.ports.edge_url(), plan, Instant::now()))
    }

    /// Runs `plan` and, `at` into it, `fault` (which may block while the
    /// load goes on); returns the report and when the fault was over,
    /// counted like the report's failures from the start of the load.
    fn load_with_fault(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        plan: Plan,
        at: Duration,
        fault: impl FnOnce(&mut Self) -> anyhow::Result<()>,
    ) -> anyhow::Result<(Report, Duration)> {
        let started = Instant::now();
        runtime.block_on(async {
            let load = tokio::spawn(load::run(self.ports.edge_url(), plan, started));
            tokio::time::sleep(at).await;
            tokio::task::block_in_place(|| fault(self))?;
            let over = started.elapsed();
            let report = load.await.context("the load task panicked")??;
            Ok((report, over))
        })
    }

    /// Starts instance `i` of `zone` again (after a kill) and waits for it.
    fn respawn(&mut self, project: &Project, zone: Zone, i: usize) -> anyhow::Result<()> {
        let name = self.ports.instance_name(zone, i);
        let port = self.ports.instances(zone)[i];
        let command = stack::zone_command(project, zone, port, &self.shared)?;
        self.supervisor
            .spawn(&name, command, Sink::File(self.log(&name)))?;
        self.supervisor.wait_ready(
            &[(name, local(port), zone.health_path())],
            Duration::from_secs(30),
        )
    }

    /// Status and body of `GET path` through the edge.
    fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let response = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .get(format!("{}{path}", self.ports.edge_url()))
            .send()
            .with_context(|| format!("GET {path} through the edge"))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .with_context(|| format!("reading the body of GET {path} ({status})"))?;
        Ok((status, body))
    }
}

fn sqlite(
    project: &Project,
    scale: Scale,
    runtime: &tokio::runtime::Runtime,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    step("Load on SQLite: one process per zone sharing one database file");
    let mut stack = FreshStack::start(project, "load-sqlite", 1, None, QUIET, Limits::Off)?;
    let report = stack.load(runtime, scale.plan())?;
    println!("{}", report.summary("SQLite, 3 processes"));
    let clean = report.failed() == 0 && report.lost_sessions == 0 && report.logins > 0;
    rows.push(Row {
        scenario: "SQLite, 1 instance per zone".into(),
        report: Some(report),
        recovery: None,
        note: String::new(),
    });
    ensure!(clean, "the SQLite load run had failures (see above)");
    restarted_by_the_supervisor(project, scale, runtime, &mut stack, rows)
}

/// `cargo xtask start`'s supervision under load: the shop (its only
/// instance) is killed; the supervisor starts it again after its backoff;
/// meanwhile only shop requests fail (the edge's 502 page), the other
/// zones answer every request, and no session is lost.
fn restarted_by_the_supervisor(
    project: &Project,
    scale: Scale,
    runtime: &tokio::runtime::Runtime,
    stack: &mut FreshStack,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    step("Fault: the shop killed under load, restarted by the supervisor (as under `start`)");
    let name = stack.ports.instance_name(Zone::Shop, 0);
    let port = stack.ports.instances(Zone::Shop)[0];
    let (p, shared) = (project.clone(), stack.shared.clone());
    let sink = Sink::File(stack.log(&name));
    stack.supervisor.make_restartable(
        &name,
        Box::new(move || stack::zone_command(&p, Zone::Shop, port, &shared)),
        sink,
    )?;
    let kill_at = scale.phase / 3;
    let mut back_after = None;
    let probe = probe::Probe::new()?;
    let (report, _) = stack.load_with_fault(runtime, scale.plan(), kill_at, |stack| {
        let killed = std::time::Instant::now();
        let before = stack.supervisor.pid(&name);
        stack.supervisor.crash(&name)?;
        while killed.elapsed() < Duration::from_secs(15) {
            let tick = std::time::Instant::now() + Duration::from_millis(50);
            stack.supervisor.supervise(Some(tick))?;
            let restarted = stack
                .supervisor
                .pid(&name)
                .is_some_and(|pid| Some(pid) != before);
            let answers = probe
                .status(local(port), &Zone::Shop.health_path())
                .is_some_and(|status| status < 500);
            if restarted && answers {
                back_after = Some(killed.elapsed());
                break;
            }
        }
        Ok(())
    })?;
    stack.supervisor.forget_restart(&name);
    println!(
        "{}",
        report.summary(&format!("{name} killed at {kill_at:?}"))
    );
    // Failures name the request: "/shop/cart: 502", "GET /shop/orders: …",
    // "cart update: 502".
    let elsewhere: Vec<String> = (report.failures.iter())
        .map(|f| f.what.clone())
        .filter(|what| {
            let request = what.strip_prefix("GET ").unwrap_or(what);
            !request.starts_with(Zone::Shop.home()) && !request.starts_with("cart update")
        })
        .collect();
    let lost = report.lost_sessions;
    rows.push(Row {
        scenario: "shop killed, restarted by the supervisor".into(),
        recovery: back_after,
        note: format!("{} shop requests failed while it was down", report.failed()),
        report: Some(report),
    });
    let back_after =
        back_after.context("the supervisor did not bring the shop back within 15 s")?;
    ensure!(
        elsewhere.is_empty(),
        "requests to other zones failed while the shop was down: {elsewhere:?}"
    );
    ensure!(lost == 0, "{lost} sessions were lost");
    println!(
        "    the supervisor restarted the shop; it answered again {:.2}s after the kill",
        back_after.as_secs_f64()
    );
    Ok(())
}

fn on_postgres(
    project: &Project,
    scale: Scale,
    runtime: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let mut pg = Postgres::start(bin, "load", probe::free_ports(1)?[0])?;
    step(&format!(
        "Load on PostgreSQL: {} instances per zone",
        scale.instances
    ));
    let mut stack = FreshStack::start(
        project,
        "load-postgres",
        scale.instances,
        Some(pg.url()),
        QUIET,
        Limits::Off,
    )?;
    let steady = stack.load(runtime, scale.plan())?;
    println!("{}", steady.summary("PostgreSQL, steady"));
    let clean = steady.failed() == 0 && steady.lost_sessions == 0 && steady.logins > 0;
    rows.push(Row {
        scenario: format!("PostgreSQL, {} instances per zone", scale.instances),
        report: Some(steady),
        recovery: None,
        note: String::new(),
    });
    ensure!(clean, "the PostgreSQL load run had failures (see above)");

    one_instance_killed(project, scale, runtime, &mut stack, rows)?;
    every_shop_instance_killed(project, &mut stack, rows)?;
    database_restarted(scale, runtime, &mut stack, &mut pg, rows)?;
    database_unreachable_at_start(project, &mut stack, &mut pg, rows)?;
    // The faults hit zones and the database only; the edge and the mock
    // provider (not a zone) must have stayed up throughout.
    for process in ["edge", stack::MOCK_IDP] {
        ensure!(
            stack.supervisor.is_running(process),
            "{process} stopped during the fault tests"
        );
    }
    Ok(())
}

/// Kill -9 one shop instance a third into a load phase.
fn one_instance_killed(
    project: &Project,
    scale: Scale,
    runtime: &tokio::runtime::Runtime,
    stack: &mut FreshStack,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    step("Fault: one shop instance killed under load");
    let victim = stack.ports.instance_name(Zone::Shop, 0);
    let kill_at = scale.phase / 3;
    let (report, _) = stack.load_with_fault(runtime, scale.plan(), kill_at, |stack| {
        stack.supervisor.kill(&victim)
    })?;
    println!(
        "{}",
        report.summary(&format!("{victim} killed at {kill_at:?}"))
    );
    let after = report
        .failures
        .iter()
        .filter(|f| f.at >= kill_at)
        .map(|f| f.at);
    let failover = after.max().map_or(Duration::ZERO, |last| last - kill_at);
    let before = report.failures_between(Duration::ZERO, kill_at);
    let in_flight = report.failed() - before;
    rows.push(Row {
        scenario: format!("{victim} killed under load"),
        report: Some(report),
        recovery: Some(failover),
        note: format!("{in_flight} failed in flight"),
    });
    ensure!(before == 0, "requests failed before the kill");
    // Only requests already on the killed instance may fail.
    ensure!(
        in_flight <= scale.users,
        "{in_flight} requests failed after the kill: more than were in flight"
    );
    ensure!(
        failover < Duration::from_secs(3),
        "failures went on for {failover:?} after the kill"
    );
    stack.respawn(project, Zone::Shop, 0)
}

/// Every shop instance down: shop paths get the 502 page, the rest serves;
/// restarted, the shop is back through the same edge.
fn every_shop_instance_killed(
    project: &Project,
    stack: &mut FreshStack,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    step("Fault: every shop instance killed, then restarted");
    let count = stack.ports.instances(Zone::Shop).len();
    for i in 0..count {
        let name = stack.ports.instance_name(Zone::Shop, i);
        stack.supervisor.kill(&name)?;
    }
    let (status, body) = stack.get("/shop")?;
    ensure!(
        status == 502 && body.contains("shop"),
        "with the shop down, /shop answered {status} instead of the 502 page naming the zone"
    );
    for path in ["/", "/auth/login?return_to=/", "/account-area"] {
        let (status, _) = stack.get(path)?;
        ensure!(
            status < 500,
            "{path} answered {status} while only the shop was down"
        );
    }
    println!(
        "    shop down: /shop → 502 page naming the zone; /, /auth/login, /account-area still served"
    );
    let restarted = Instant::now();
    for i in 0..count {
        stack.respawn(project, Zone::Shop, i)?;
    }
    let back = wait_for(
        || stack.get("/shop").is_ok_and(|(s, _)| s == 200),
        Duration::from_secs(30),
    )
    .context("the shop did not come back through the edge")?;
    let recovery = restarted.elapsed();
    println!(
        "    shop restarted: /shop → 200 through the same edge {:.2}s after the restart began ({:.2}s after the instances were ready)",
        recovery.as_secs_f64(),
        back.as_secs_f64()
    );
    rows.push(Row {
        scenario: "every shop instance killed, restarted".into(),
        report: None,
        recovery: Some(recovery),
        note: "502 page while down; others served".into(),
    });
    Ok(())
}

/// PostgreSQL stopped (fast shutdown) and started again under load.
fn database_restarted(
    scale: Scale,
    runtime: &tokio::runtime::Runtime,
    stack: &mut FreshStack,
    pg: &mut Postgres,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    step("Fault: PostgreSQL restarted under load");
    let stop_at = scale.phase / 3;
    let outage = Duration::from_secs(1);
    let (report, resumed_at) = stack.load_with_fault(runtime, scale.plan(), stop_at, |_| {
        pg.pause();
        std::thread::sleep(outage);
        pg.resume()
    })?;
    println!(
        "{}",
        report.summary(&format!(
            "PostgreSQL down from {stop_at:?} to {resumed_at:.1?}"
        ))
    );
    let last = report.failures.iter().map(|f| f.at).max();
    let recovery = last.map_or(Duration::ZERO, |last| last.saturating_sub(resumed_at));
    let before = report.failures_between(Duration::ZERO, stop_at);
    let after = report.failures_between(resumed_at + Duration::from_secs(5), Duration::MAX);
    rows.push(Row {
        scenario: "PostgreSQL restarted under load".into(),
        recovery: Some(recovery),
        note: format!(
            "{} failed during the {:.1}s outage",
            report.failed(),
            (resumed_at - stop_at).as_secs_f64()
        ),
        report: Some(report),
    });
    ensure!(before == 0, "requests failed before the database stopped");
    ensure!(
        after == 0,
        "{after} requests still failed more than 5 s after the database was back"
    );
    for zone in Zone::ALL {
        for i in 0..stack.ports.instances(zone).len() {
            let name = stack.ports.instance_name(zone, i);
            ensure!(
                stack.supervisor.is_running(&name),
                "{name} exited when the database restarted"
            );
        }
    }
    Ok(())
}

/// A zone started while the database is down: it says so and retries, and
/// serves once the database is back; with nothing to wait for, it gives up
/// with a clear error.
fn database_unreachable_at_start(
    project: &Project,
    stack: &mut FreshStack,
    pg: &mut Postgres,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    step("Fault: database unreachable when a zone starts");
    let port = probe::free_ports(1)?[0];
    // The shop: a zone with tables of its own needs the database in any
    // session mode (the public zone, in token mode, needs none; below).
    let log = stack.log("shop-late");
    pg.pause();
    let mut command = stack::zone_command(project, Zone::Shop, port, &stack.shared)?;
    command
        .env("DATABASE_WAIT_SECS", "30")
        .env("RUST_LOG", "info");
    stack
        .supervisor
        .spawn("shop-late", command, Sink::File(log.clone()))?;
    let retrying = wait_for(
        || fs::read_to_string(&log).is_ok_and(|text| text.contains("database unreachable")),
        Duration::from_secs(10),
    );
    let resumed = Instant::now();
    pg.resume()?;
    retrying.context("a zone started without its database did not log that it is retrying")?;
    stack.supervisor.wait_ready(
        &[("shop-late".into(), local(port), Zone::Shop.health_path())],
        Duration::from_secs(30),
    )?;
    let up = resumed.elapsed();
    println!(
        "    a zone started without its database logged the retries and served {:.2}s after the database came back",
        up.as_secs_f64()
    );
    stack.supervisor.kill("shop-late")?;

    // Nothing listens at all: a clear error after DATABASE_WAIT_SECS.
    let nowhere = probe::free_ports(1)?[0];
    let mut shared = stack.shared.clone();
    shared.database_url = format!("postgres://meridian@127.0.0.1:{nowhere}/meridian");
    let mut command = stack::zone_command(project, Zone::Shop, port, &shared)?;
    command.env("DATABASE_WAIT_SECS", "2");
    let out = command.output().context("cannot run the zone binary")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() || !text.contains("unreachable (gave up after") {
        bail!(
            "a zone whose database never appears should exit with a clear error; it {} and said:\n{text}",
            out.status
        );
    }
    println!(
        "    with no database at all it gave up after DATABASE_WAIT_SECS with: “…is unreachable (gave up after …)”"
    );
    public_needs_no_database(project, stack, &shared, port)?;
    rows.push(Row {
        scenario: "database unreachable at start".into(),
        report: None,
        recovery: Some(up),
        note: "retries logged; clear error when it never comes".into(),
    });
    Ok(())
}

/// In token mode (the default) the public zone has no tables and opens no
/// database: pointed at one that does not exist, it starts at once and
/// serves its pages, signed-in state included, through identity.
fn public_needs_no_database(
    project: &Project,
    stack: &mut FreshStack,
    nowhere: &stack::Shared,
    port: u16,
) -> anyhow::Result<()> {
    let mut command = stack::zone_command(project, Zone::Public, port, nowhere)?;
    command
        .env("SESSION_MODE", "token")
        .env("DATABASE_WAIT_SECS", "2");
    let log = stack.log("public-no-database");
    stack
        .supervisor
        .spawn("public-no-database", command, Sink::File(log))?;
    let started = Instant::now();
    stack.supervisor.wait_ready(
        &[(
            "public-no-database".into(),
            local(port),
            Zone::Public.health_path(),
        )],
        Duration::from_secs(10),
    )?;
    let home = reqwest::blocking::get(format!("http://{}{}", local(port), Zone::Public.home()))
        .context("the public zone without a database")?;
    ensure!(
        home.status().is_success(),
        "the public zone without a database answered {} for its home page",
        home.status()
    );
    println!(
        "    in token mode the public zone, given no reachable database, served after {:.2}s",
        started.elapsed().as_secs_f64()
    );
    stack.supervisor.kill("public-no-database")
}

/// Polls `ready` every 100 ms until it holds (how long it took) or `limit`.
fn wait_for(mut ready: impl FnMut() -> bool, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("still not the case after {limit:?}")
}

fn print_table(rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "\n    {:<44} {:>9} {:>8} {:>7} {:>6} {:>8} {:>9}  note",
        "scenario", "requests", "req/s", "failed", "lost", "p99 ms", "recovery"
    );
    for row in rows {
        let (requests, rate, failed, lost, p99) = match &row.report {
            Some(r) => (
                r.requests.to_string(),
                format!("{:.0}", r.per_second()),
                r.failed().to_string(),
                r.lost_sessions.to_string(),
                format!("{:.1}", r.latency_ms(0.99)),
            ),
            None => Default::default(),
        };
        let recovery = row
            .recovery
            .map(|d| format!("{:.2}s", d.as_secs_f64()))
            .unwrap_or_default();
        println!(
            "    {:<44} {requests:>9} {rate:>8} {failed:>7} {lost:>6} {p99:>8} {recovery:>9}  {}",
            row.scenario, row.note
        );
    }
    println!();
}
