//! Under `cargo xtask dev` with several zones watched, an edit to a shared
//! crate or to `style/` rebuilds the zone the browser last loaded first.
//!
//! Every watcher sees the edit and asks cargo for a build, and on two
//! cores they would take turns on cargo's build lock in whatever order
//! they asked. cargo-leptos waits 100 ms for more edits before it builds;
//! inside that window this pauses (SIGSTOP) the `cargo-leptos` process of
//! every other watched zone that is not already building, so the zone the
//! edge says served the last page (`last_page` in `/_edge/status`) gets the
//! lock alone, and continues them (SIGCONT) once that zone's build has
//! finished. A paused watcher keeps its edit queued in the kernel and
//! builds it then; its zone's server, a separate process, keeps serving.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use contracts::Zone;
use contracts::zone::EDGE_STATUS_PATH;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use notify::{RecursiveMode, Watcher as _};
use sysinfo::System;

use crate::processes::snapshot;
use crate::zone_builds::Builds;

/// What the zones share: an edit here rebuilds every watched zone.
pub const SHARED: [&str; 5] = [
    "contracts",
    "shared-auth",
    "shared-ui",
    "zones/runtime",
    "style",
];

/// How long the first zone may take to start building before the others
/// are let go (an edit that builds nothing, e.g. a comment in a file of a
/// crate it does not use).
const QUIET: Duration = Duration::from_secs(3);
/// The longest the others wait for it.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// Watches the shared folders and orders the rebuilds of `watched` (at
/// least two zones), for as long as the process runs.
pub fn spawn(
    root: &Path,
    watched: Vec<Zone>,
    builds: Arc<Builds>,
    edge: SocketAddr,
) -> anyhow::Result<()> {
    let (sender, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
            && event.paths.iter().any(|p| is_source(p))
        {
            let _ = sender.send(());
        }
    })
    .context("cannot watch the shared folders")?;
    for dir in SHARED {
        watcher
            .watch(&root.join(dir), RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch {dir}"))?;
    }
    let root = root.to_owned();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(300))
        .no_proxy()
        .build()?;
    thread::spawn(move || {
        let _watcher = watcher; // watches as long as this thread runs
        // Looked up ahead (reading the process table takes longer than
        // cargo-leptos' 100 ms), again whenever nothing happens for a while
        // (a watcher restarted by the supervisor has a new pid).
        let mut watchers = find_watchers(&root, &watched);
        loop {
            match events.recv_timeout(REFRESH) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    watchers = find_watchers(&root, &watched);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if let Some(first) = last_page(&client, edge).filter(|z| watched.contains(z)) {
                let finished = builds.finished(first);
                let paused = pause_others(&watchers, first);
                if !paused.is_empty() {
                    let names: Vec<&str> = paused.iter().map(|(z, _)| z.name()).collect();
                    println!(
                        "    ▸ shared code changed: {first} first (the last page you loaded), \
                         then {}",
                        names.join(", ")
                    );
                    builds.wait_finished(first, finished, QUIET, MAX_WAIT);
                    for (_, pid) in &paused {
                        let _ = kill(*pid, Signal::SIGCONT);
                    }
                }
            }
            // One edit is often several file events: the episode is over.
            while events.try_recv().is_ok() {}
        }
    });
    Ok(())
}

/// How often the watchers' pids are looked up again while nothing happens.
const REFRESH: Duration = Duration::from_secs(5);

/// Pauses every watcher but `first`'s at once, then lets go again those
/// that were already building (they hold or wait for cargo's lock, which
/// `first` would otherwise wait for forever); the ones left paused.
fn pause_others(watchers: &[(Zone, Pid)], first: Zone) -> Vec<(Zone, Pid)> {
    let mut paused: Vec<(Zone, Pid)> = watchers
        .iter()
        .copied()
        .filter(|&(zone, pid)| zone != first && kill(pid, Signal::SIGSTOP).is_ok())
        .collect();
    let busy = building(&paused);
    paused.retain(|(zone, pid)| {
        let keep = !busy.contains(zone);
        if !keep {
            let _ = kill(*pid, Signal::SIGCONT);
        }
        keep
    });
    paused
}

/// The `cargo-leptos watch` process of each of `zones` that runs.
fn find_watchers(root: &Path, zones: &[Zone]) -> Vec<(Zone, Pid)> {
    let Some(system) = snapshot(true, false) else {
        return Vec::new();
    };
    zones
        .iter()
        .filter_map(|&zone| {
            let pid = watcher_of(&system, root, zone)?;
            Some((zone, Pid::from_raw(i32::try_from(pid.as_u32()).ok()?)))
        })
        .collect()
}

/// Those of `watchers` with a build under way: a child that is neither a
/// thread nor the zone's server (cargo, wasm-bindgen, wasm-opt at work).
fn building(watchers: &[(Zone, Pid)]) -> Vec<Zone> {
    let Some(system) = snapshot(true, false) else {
        return watchers.iter().map(|(zone, _)| *zone).collect();
    };
    watchers
        .iter()
        .filter(|(_, pid)| {
            let pid = sysinfo::Pid::from_u32(pid.as_raw().unsigned_abs());
            system
                .processes()
                .values()
                .any(|p| p.parent() == Some(pid) && p.thread_kind().is_none() && !is_server(p))
        })
        .map(|(zone, _)| *zone)
        .collect()
}

/// Whether `path` is a source file (not an editor's scratch file).
fn is_source(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let scratch = name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp");
    let built = path.components().any(|c| c.as_os_str() == "target");
    !(scratch || built)
}

/// The zone that served the last page, as the edge tells it.
fn last_page(client: &reqwest::blocking::Client, edge: SocketAddr) -> Option<Zone> {
    let status: serde_json::Value = client
        .get(format!("http://{edge}{EDGE_STATUS_PATH}"))
        .send()
        .ok()?
        .json()
        .ok()?;
    status.get("last_page")?.as_str()?.parse().ok()
}

/// The `cargo-leptos … watch --project <zone>` process of this workspace.
fn watcher_of(system: &System, root: &Path, zone: Zone) -> Option<sysinfo::Pid> {
    system.processes().iter().find_map(|(pid, p)| {
        let cmd: Vec<&str> = p.cmd().iter().filter_map(|a| a.to_str()).collect();
        let ours = p.cwd().map(PathBuf::from).as_deref() == Some(root);
        let is_watch = p.thread_kind().is_none()
            && p.name() == "cargo-leptos"
            && cmd.contains(&"watch")
            && cmd.windows(2).any(|w| w == ["--project", zone.name()]);
        (ours && is_watch).then_some(*pid)
    })
}

/// The zone's own server, which a watcher runs between builds.
fn is_server(process: &sysinfo::Process) -> bool {
    let name = process.name().to_string_lossy();
    Zone::ALL.iter().any(|z| name == z.package())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_scratch_files_and_build_output_are_not_edits() {
        assert!(is_source(Path::new("/w/shared-ui/src/footer.rs")));
        assert!(!is_source(Path::new("/w/shared-ui/src/.footer.rs.swp")));
        assert!(!is_source(Path::new("/w/shared-ui/src/footer.rs~")));
        assert!(!is_source(Path::new("/w/shared-ui/target/debug/x")));
    }
}
