//! The dev loop as a person lives it: `cargo xtask dev shop` (one zone
//! watched) and `cargo xtask dev` (all three), each started as a newcomer
//! would on a warm machine, measured for the time to the first page of the
//! shop and to every zone serving, checked for which processes run (one
//! `cargo leptos watch` per watched zone, a release server for every other
//! zone), and timed from saving an edit of shared-ui's footer to the
//! reloaded shop page in Chromium (`end2end/bench/reload.mjs`).

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use contracts::Zone;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;

use super::Settings;
use super::devloop::{COMPONENT, Edit};
use super::stats::Spread;
use crate::probe::Probe;
use crate::processes::snapshot;
use crate::project::Project;
use crate::stack::{Ports, local};
use crate::tools;

/// The zone whose page is watched in the browser.
const ZONE: Zone = Zone::Shop;
/// The longest a first start may take (a cold debug build of three zones).
const FIRST_START: Duration = Duration::from_secs(30 * 60);
/// The longest one edit may take to reach the browser.
const ONE_RELOAD: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, Serialize)]
pub struct SessionRow {
    /// `cargo xtask dev shop`.
    pub command: String,
    /// Zones under `cargo leptos watch`, as the process list shows them.
    pub watchers: Vec<String>,
    /// Zones served by their release binaries, as the process list shows.
    pub release_servers: Vec<String>,
    /// From the command to the shop's first page through the edge.
    pub first_page_secs: f64,
    /// From the command to every zone's page.
    pub all_zones_secs: f64,
    /// From saving an edit of the footer to the reloaded shop page.
    pub reload_secs: Spread,
}

/// Runs `cargo xtask dev ZONES…` (all when empty) and measures it.
pub fn run(
    project: &Project,
    settings: &Settings,
    out: &Path,
    watched: &[Zone],
) -> anyhow::Result<SessionRow> {
    let names: Vec<&str> = watched.iter().map(|z| z.name()).collect();
    let command = format!("cargo xtask dev {}", names.join(" "))
        .trim_end()
        .to_owned();
    let log = out.join(format!(
        "dev-{}.log",
        if names.is_empty() { "all" } else { names[0] }
    ));
    println!("    {command} (output in {})…", log.display());
    let ports = Ports::standard(1);
    ports.check_free()?;
    let file = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let started = Instant::now();
    let dev = Session(
        Command::new(std::env::current_exe().context("cannot find xtask itself")?)
            .arg("dev")
            .args(&names)
            .current_dir(&project.root)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .context("cannot start cargo xtask dev")?,
    );
    let probe = Probe::new()?;
    let edge = local(ports.edge);
    let page_of = |zone: Zone| probe.status(edge, zone.home()) == Some(200);
    wait(started, FIRST_START, || page_of(ZONE), &log)?;
    let first_page_secs = started.elapsed().as_secs_f64();
    println!("    the {ZONE} page served after {first_page_secs:.1} s");
    wait(
        started,
        FIRST_START,
        || Zone::ALL.into_iter().all(page_of),
        &log,
    )?;
    let all_zones_secs = started.elapsed().as_secs_f64();
    println!("    every zone served after {all_zones_secs:.1} s");
    let (watchers, release_servers) = processes(dev.pid())?;
    println!(
        "    processes: cargo leptos watch for [{}], release servers for [{}]",
        watchers.join(", "),
        release_servers.join(", ")
    );
    let expected: Vec<String> = Zone::ALL
        .into_iter()
        .filter(|z| watched.is_empty() || watched.contains(z))
        .map(|z| z.name().to_owned())
        .collect();
    let others: Vec<String> = Zone::ALL
        .into_iter()
        .map(|z| z.name().to_owned())
        .filter(|z| !expected.contains(z))
        .collect();
    if watchers != expected || release_servers != others {
        bail!(
            "{command} runs watchers for {watchers:?} and release servers for \
             {release_servers:?}; expected {expected:?} and {others:?}"
        );
    }
    let reload_secs = reloads(project, out, &ports.edge_url(), settings.dev_loop_repeats)?;
    drop(dev);
    Ok(SessionRow {
        command,
        watchers,
        release_servers,
        first_page_secs,
        all_zones_secs,
        reload_secs,
    })
}

/// Polls `ready` every 250 ms until it holds or `limit` has passed.
fn wait(
    started: Instant,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
    log: &Path,
) -> anyhow::Result<()> {
    while !ready() {
        if started.elapsed() > limit {
            bail!("not ready after {limit:?}; see {}", log.display());
        }
        thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// The zones whose `cargo-leptos watch` runs under `dev`, and the zones
/// whose release binary runs under it, each sorted as `Zone::ALL`.
fn processes(dev: sysinfo::Pid) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let system = snapshot(false, true).context("cannot read the process table")?;
    let descends = |mut pid: sysinfo::Pid| loop {
        if pid == dev {
            return true;
        }
        match system.process(pid).and_then(sysinfo::Process::parent) {
            Some(parent) => pid = parent,
            None => return false,
        }
    };
    let mut watchers = Vec::new();
    let mut servers = Vec::new();
    for (pid, process) in system.processes() {
        if process.thread_kind().is_some() || !descends(*pid) {
            continue;
        }
        let cmd: Vec<&str> = process.cmd().iter().filter_map(|a| a.to_str()).collect();
        for zone in Zone::ALL {
            if process.name() == "cargo-leptos"
                && cmd.windows(2).any(|w| w == ["--project", zone.name()])
            {
                watchers.push(zone);
            }
            // `<target dir>/release/zone-shop`, wherever the target dir is.
            let is_release = process.exe().is_some_and(|exe| {
                exe.file_name().is_some_and(|n| n == zone.package())
                    && exe.parent().is_some_and(|d| d.ends_with("release"))
            });
            if is_release {
                servers.push(zone);
            }
        }
    }
    let sorted = |zones: Vec<Zone>| -> Vec<String> {
        Zone::ALL
            .into_iter()
            .filter(|z| zones.contains(z))
            .map(|z| z.name().to_owned())
            .collect()
    };
    Ok((sorted(watchers), sorted(servers)))
}

/// `repeats` edits of the footer, each timed from the save to the shop
/// page reloaded in Chromium.
fn reloads(project: &Project, out: &Path, edge: &str, repeats: usize) -> anyhow::Result<Spread> {
    let edit = Edit::open(&project.root.join(COMPONENT), &out.join("footer.rs.orig"))?;
    let url = format!("{edge}{}", ZONE.home());
    let mut browser = project
        .command("node")
        .args(["end2end/bench/reload.mjs", &url, &repeats.to_string()])
        .env("CHROMIUM_PATH", tools::CHROMIUM)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start node end2end/bench/reload.mjs")?;
    let stdout = browser.stdout.take().context("node's stdout")?;
    let (lines, said) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut times = Vec::new();
    for n in 1..=repeats {
        expect(&said, "ready", ONE_RELOAD)?;
        edit.change(n)?;
        let saved = Instant::now();
        expect(&said, "reloaded", ONE_RELOAD)?;
        let secs = saved.elapsed().as_secs_f64();
        println!(
            "    edit {n} of {COMPONENT}: the {ZONE} page reloaded {secs:.1} s after the save"
        );
        times.push(secs);
    }
    let status = browser.wait()?;
    edit.restore()?;
    if !status.success() {
        bail!("the browser script failed ({status})");
    }
    Ok(Spread::of(times))
}

fn expect(said: &mpsc::Receiver<String>, line: &str, limit: Duration) -> anyhow::Result<()> {
    loop {
        match said.recv_timeout(limit) {
            Ok(got) if got == line => return Ok(()),
            Ok(_) => {}
            Err(_) => bail!("the browser did not say `{line}` within {limit:?}"),
        }
    }
}

/// A running `cargo xtask dev`, stopped as Ctrl-C would (SIGTERM; its
/// supervisor stops its children) when dropped.
struct Session(Child);

impl Session {
    fn pid(&self) -> sysinfo::Pid {
        sysinfo::Pid::from_u32(self.0.id())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(raw) = i32::try_from(self.0.id()) {
            let _ = kill(Pid::from_raw(raw), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
