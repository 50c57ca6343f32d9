//! `cargo xtask bench`: the performance suite, on release builds over
//! loopback, in one bounded run that prints a table and leaves
//! `target/bench/results.{json,md}` and `chart.png`:
//!
//! 1. edge overhead: a zone URL direct, through the edge (cache off),
//!    through nginx and through a Node `http-proxy`, with CPU per request;
//! 2. SSR throughput of each zone's main page through the edge,
//!    anonymous and signed in, with CPU per request;
//! 3. the session check (criterion micro-benchmark), SQLite and PostgreSQL;
//! 4. login flows per second through the mock IdP;
//! 5. payload: wasm / JS / CSS and main-page HTML, raw, gzip, brotli;
//! 7. navigation in Chromium (`end2end/tests/navigation.spec.ts`): bytes
//!    of a cold and a warm visit per zone, and hover-then-click across
//!    zones with and without speculation rules;
//! 8. the edge cache: anonymous `/shop` and `/` with it off and on, and
//!    the shop killed under load with it on;
//! 6. the dev loop: a debug rebuild after a shared-ui edit, and
//!    `cargo xtask dev shop` / `cargo xtask dev` as a person uses them
//!    (first page, processes, save → reloaded page in Chromium).
//!
//! Load comes from `wrk` (Debian's) and, for the login flows, from the
//! load generator in `crate::load`. Every load figure is the median of
//! `--repeats` runs with their range, the runs of compared targets
//! interleaved; under load, section 1 runs the edge and nginx
//! `--proxy-rounds` rounds and judges the edge by the median of its
//! per-round ratios to nginx.

mod budget;
mod cache;
mod chart;
mod cpu;
mod dev_session;
mod devloop;
mod login;
mod machine;
mod micro;
mod navigation;
mod nginx;
mod node_proxy;
mod payload;
mod proxy;
mod report;
mod ssr;
mod stats;
mod wrk;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use contracts::Zone;
use serde::Serialize;

use crate::project::{Project, elapsed, step};
use crate::stack::{FreshStack, Limits};
use crate::start::build_release;
use crate::{load, probe, tools};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Length of each load run, in seconds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
    /// Runs of every load measurement (median and range are reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    repeats: u64,
    /// Rounds of section 1's runs under load: the edge and nginx run in
    /// every round, direct and Node in the first --repeats; the
    /// edge-vs-nginx verdicts are medians of per-round ratios.
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(1..=30))]
    proxy_rounds: u64,
    /// Skip the dev-loop section (debug rebuilds of a zone, and
    /// `cargo xtask dev` in Chromium; needs ports 8080 and 3001–3009 free).
    #[arg(long, conflicts_with = "dev_loop_only")]
    no_dev_loop: bool,
    /// Only the dev-loop section.
    #[arg(long)]
    dev_loop_only: bool,
}

/// What one run measures, kept in the report.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    pub seconds: u64,
    pub repeats: usize,
    /// Rounds of section 1's runs under load (see `proxy`).
    pub proxy_rounds: usize,
    /// Paths of the public zone compared direct / edge / nginx.
    pub paths: Vec<String>,
    /// Connection counts of the edge-vs-nginx runs.
    pub concurrency: Vec<usize>,
    /// Connections of the SSR runs.
    pub ssr_concurrency: usize,
    /// Concurrent clients signing in.
    pub login_clients: usize,
    /// Measurement time of each criterion benchmark, in seconds.
    pub micro_seconds: u64,
    pub dev_loop_repeats: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            seconds: 3,
            repeats: 3,
            proxy_rounds: 9,
            paths: vec![Zone::Public.home().to_owned(), Zone::Public.health_path()],
            concurrency: vec![1, 16, 64],
            ssr_concurrency: 16,
            login_clients: 16,
            micro_seconds: 3,
            dev_loop_repeats: 2,
        }
    }
}

impl Settings {
    fn run_length(&self) -> Duration {
        Duration::from_secs(self.seconds)
    }

    fn warm_up(&self) -> Duration {
        Duration::from_secs(1)
    }
}

/// Debian packages the bench runs on: the reference proxy and the load
/// generator. (The chart's font is compiled in.)
const PACKAGES: [(&str, &str); 2] = [(nginx::BINARY, "nginx"), ("/usr/bin/wrk", "wrk")];

pub fn run(project: &Project, args: &BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    tools::ensure(project, tools::Need::default())?;
    ensure_packages()?;
    build_release(project)?;
    let settings = Settings {
        seconds: args.seconds,
        repeats: usize::try_from(args.repeats)?,
        proxy_rounds: usize::try_from(args.proxy_rounds)?,
        ..Settings::default()
    };
    let out = project.root.join("target").join("bench");
    let sections = if args.dev_loop_only {
        Sections::DevLoopOnly
    } else if args.no_dev_loop {
        Sections::NoDevLoop
    } else {
        Sections::All
    };
    measure(project, settings, sections, &out, started)
}

/// Which sections a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sections {
    All,
    NoDevLoop,
    DevLoopOnly,
}

/// For `cargo xtask test`, after its release build: every section but
/// the dev loop with one-second single runs, so the bench cannot rot
/// unnoticed. The figures are printed, not judged; the report goes to
/// `target/bench/smoke/`, leaving a real run's report alone.
pub fn smoke(project: &Project) -> anyhow::Result<()> {
    let started = Instant::now();
    ensure_packages()?;
    let settings = Settings {
        seconds: 1,
        repeats: 1,
        proxy_rounds: 1,
        micro_seconds: 1,
        ..Settings::default()
    };
    let out = project.root.join("target").join("bench").join("smoke");
    measure(project, settings, Sections::NoDevLoop, &out, started)
}

/// Installs the Debian packages of [`PACKAGES`] that are missing.
fn ensure_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|&(_, package)| package)
        .collect();
    if missing.is_empty() {
        println!("    nginx, wrk, fonts: present");
        Ok(())
    } else {
        tools::apt_install("the benchmark tools", &missing)
    }
}

/// Every section on the release build, then the report in `out`.
fn measure(
    project: &Project,
    settings: Settings,
    sections: Sections,
    out: &Path,
    started: Instant,
) -> anyhow::Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut results = report::Results {
        machine: machine::Machine::describe(),
        settings,
        proxy: Vec::new(),
        ssr: Vec::new(),
        login: None,
        payload: Vec::new(),
        micro: Vec::new(),
        dev_loop: None,
        dev_sessions: Vec::new(),
        navigation: None,
        cache: None,
        budgets: Vec::new(),
        duration_secs: 0.0,
    };
    if sections != Sections::DevLoopOnly {
        measure_stack(project, &mut results, out)?;
        results.micro = micro::run(project, &results.settings, &out.join("criterion"))?;
    }
    if sections != Sections::NoDevLoop {
        // The sessions first: `dev shop` finds the release builds just
        // made up to date (the edits below would make them older than
        // their sources).
        step("6. Dev loop: `cargo xtask dev shop`, then `cargo xtask dev`, in Chromium");
        for watched in [&[Zone::Shop][..], &[]] {
            let row = dev_session::run(project, &results.settings, out, watched)?;
            results.dev_sessions.push(row);
        }
        step("6. Dev loop: debug rebuild of a zone after a shared-ui edit");
        results.dev_loop = Some(devloop::run(project, &results.settings, out)?);
    }
    results.duration_secs = started.elapsed().as_secs_f64();
    results.check_budgets();
    let markdown = results.markdown();
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        "results.json",
        serde_json::to_string_pretty(&results)?.as_bytes(),
    )?;
    write("results.md", markdown.as_bytes())?;
    chart::draw(&results, &out.join("chart.png"))?;
    println!("\n{markdown}");
    step(&format!(
        "Bench done in {}: {}/results.md, results.json, chart.png",
        elapsed(started),
        out.display()
    ));
    Ok(())
}

/// Sections 1, 2, 5 and 4 (in that order: the login runs leave many
/// sessions behind) on one fresh release stack, nginx beside it.
fn measure_stack(
    project: &Project,
    results: &mut report::Results,
    out: &Path,
) -> anyhow::Result<()> {
    let settings = results.settings.clone();
    // The edge's cache off: sections 1 and 2 measure proxying and
    // rendering (nginx caches nothing either); section 8 turns it on.
    let mut stack = FreshStack::start(
        project,
        "bench",
        1,
        None,
        &[("SESSION_MODE", TOKEN_MODE), NO_EDGE_CACHE],
        Limits::Off,
    )?;
    let public = stack.ports.instances(Zone::Public)[0];
    let [nginx_port, node_port] = probe::free_ports(2)?[..] else {
        bail!("two free ports were asked for");
    };
    nginx::start(
        &mut stack,
        &project.xtask_dir().join("bench-nginx"),
        nginx_port,
        public,
        &Zone::Public.health_path(),
    )?;
    node_proxy::start(
        project,
        &mut stack,
        node_port,
        public,
        &Zone::Public.health_path(),
    )?;
    let base = |port: u16| format!("http://127.0.0.1:{port}");
    let edge = base(stack.ports.edge);
    let pid = |name: &str| {
        stack
            .supervisor
            .pid(name)
            .with_context(|| format!("{name} is not running"))
    };

    step("1. Edge overhead: the public zone direct, through the edge, nginx and Node");
    let targets = [
        proxy::Target {
            name: "direct",
            base: base(public),
            pid: pid(Zone::Public.name())?,
        },
        proxy::Target {
            name: "edge",
            base: edge.clone(),
            pid: pid("edge")?,
        },
        proxy::Target {
            name: "nginx",
            base: base(nginx_port),
            pid: pid("nginx")?,
        },
        proxy::Target {
            name: "node",
            base: base(node_port),
            pid: pid(node_proxy::NAME)?,
        },
    ];
    let paths: Vec<&str> = settings.paths.iter().map(String::as_str).collect();
    results.proxy = proxy::run(&targets, &paths, &settings)?;

    let runtime = tokio::runtime::Runtime::new()?;
    let cookie = runtime.block_on(load::sign_in(&edge, "bench"))?;
    check_signed_in(&edge, &cookie)?;

    step("2. Zone SSR through the edge, anonymous and signed in (token mode)");
    results.ssr = ssr::run(&ssr_setup(&stack, TOKEN_MODE, &cookie)?, &settings)?;

    step("5. Payload: assets and main pages, raw / gzip / brotli");
    results.payload = payload::run(project, &edge, &cookie)?;

    step("7. Navigation in Chromium, with and without speculation rules");
    results.navigation = Some(navigation::run(project, &edge, out, settings.repeats)?);

    step("4. Login throughput through the mock IdP");
    results.login = Some(login::run(&runtime, &edge, &settings)?);

    step("8. Edge cache: anonymous pages with the cache off and on, then the shop killed");
    results.cache = Some(cache::run(project, &mut stack, &settings)?);
    stack.supervisor.shutdown();

    step("2b. Zone SSR through the edge, anonymous and signed in (store mode)");
    let mut stack = FreshStack::start(
        project,
        "bench-store",
        1,
        None,
        &[("SESSION_MODE", STORE_MODE), NO_EDGE_CACHE],
        Limits::Off,
    )?;
    let edge = base(stack.ports.edge);
    let cookie = runtime.block_on(load::sign_in(&edge, "bench"))?;
    check_signed_in(&edge, &cookie)?;
    let rows = ssr::run(&ssr_setup(&stack, STORE_MODE, &cookie)?, &settings)?;
    results.ssr.extend(rows);
    stack.supervisor.shutdown();
    Ok(())
}

/// `SESSION_MODE` of the main bench stack (the default) and of the second,
/// SSR-only stack.
const TOKEN_MODE: &str = "token";
const STORE_MODE: &str = "store";
/// The bench stacks' edges cache nothing (but section 8's second edge).
const NO_EDGE_CACHE: (&str, &str) = ("EDGE_CACHE_BYTES", "0");

/// The SSR runs' view of `stack` (in session mode `mode`), signed in with
/// `cookie`.
fn ssr_setup(stack: &FreshStack, mode: &'static str, cookie: &str) -> anyhow::Result<ssr::Setup> {
    let pid = |name: &str| {
        stack
            .supervisor
            .pid(name)
            .with_context(|| format!("{name} is not running"))
    };
    Ok(ssr::Setup {
        mode,
        edge: format!("http://127.0.0.1:{}", stack.ports.edge),
        edge_pid: pid("edge")?,
        zone_pids: Zone::ALL
            .into_iter()
            .map(|zone| Ok((zone, pid(zone.name())?)))
            .collect::<anyhow::Result<_>>()?,
        cookie: cookie.to_owned(),
    })
}

/// The signed-in SSR runs mean nothing unless the cookie signs in: every
/// zone's main page must render the account menu for it.
fn check_signed_in(edge: &str, cookie: &str) -> anyhow::Result<()> {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for zone in Zone::ALL {
        let url = format!("{edge}{}", zone.home());
        let page = http
            .get(&url)
            .header(reqwest::header::COOKIE, cookie)
            .send()?
            .text()?;
        if !page.contains(r#"data-signed-in="true""#) {
            bail!("{url} does not render as signed in with the bench user's cookie");
        }
    }
    Ok(())
}
