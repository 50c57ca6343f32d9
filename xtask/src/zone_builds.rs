//! What `cargo leptos watch` says about each watched zone's builds under
//! `cargo xtask dev`, read from its output as it is printed:
//!
//! * cargo's `Compiling …` starts a build: `▸ shop: rebuilding…`;
//! * cargo-leptos' `Watch updated …`, or its two `Cargo finished` lines
//!   (server and browser bundle) without an error, end it well:
//!   `▸ shop: rebuilt (7.2 s)`, and the edge forgets an earlier failure;
//! * its `Build failed` ends it badly: `▸ shop: build failed at
//!   zones/shop/src/cart.rs:7:9: mismatched types`, and the compiler's
//!   error lines go to the edge (`PUT /_edge/dev/builds/shop`), whose
//!   waiting page shows them until the zone builds again.
//!
//! The first start's `building… → ready` lines are `zone_progress`'s.
//! [`Builds::wait_finished`] lets the rebuild ordering wait for one zone.

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use contracts::Zone;
use contracts::zone::DEV_BUILDS_PREFIX;

use crate::supervisor::Observer;

/// Error lines kept per build (the edge shows the first ones).
const MAX_ERROR_LINES: usize = 200;

/// The builds of every watched zone.
pub struct Builds {
    zones: Mutex<Vec<(Zone, ZoneBuild)>>,
    changed: Condvar,
    edge: SocketAddr,
    client: reqwest::blocking::Client,
}

#[derive(Debug)]
struct ZoneBuild {
    /// The zone has served once (the first start is `zone_progress`'s).
    served: bool,
    /// When the build under way began.
    started: Option<Instant>,
    /// Its error lines so far.
    errors: Vec<String>,
    /// Inside a compiler diagnostic (until the blank line that ends it).
    in_error: bool,
    /// cargo runs of this build that ended well (server, browser bundle).
    cargo_done: u8,
    /// Whether the edge was told of a failure not yet mended.
    failure_reported: bool,
    /// Builds finished, well or not.
    finished: u64,
    /// When the watcher last printed anything.
    last_line: Instant,
}

/// What one line of a watcher's output means.
#[derive(Debug, PartialEq, Eq)]
enum Said {
    Compiling,
    Error,
    Built,
    Failed,
    CargoFinished,
    Other,
}

fn classify(line: &str) -> Said {
    let line = line.trim_start();
    if line.starts_with("Compiling ") {
        Said::Compiling
    } else if line.starts_with("error") {
        Said::Error
    } else if line.contains("Build failed") {
        Said::Failed
    } else if line.contains("Serving at ") || line.contains("Watch updated") {
        Said::Built
    } else if line.contains("Cargo finished") {
        Said::CargoFinished
    } else {
        Said::Other
    }
}

impl Builds {
    /// Builds of `zones`, reported to the edge at `edge`.
    pub fn new(zones: &[Zone], edge: SocketAddr) -> anyhow::Result<Arc<Self>> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .no_proxy()
            .build()?;
        let now = Instant::now();
        let zones = zones
            .iter()
            .map(|&zone| {
                let build = ZoneBuild {
                    served: false,
                    started: None,
                    errors: Vec::new(),
                    in_error: false,
                    cargo_done: 0,
                    failure_reported: false,
                    finished: 0,
                    last_line: now,
                };
                (zone, build)
            })
            .collect();
        Ok(Arc::new(Self {
            zones: Mutex::new(zones),
            changed: Condvar::new(),
            edge,
            client,
        }))
    }

    /// The observer for `zone`'s watcher output.
    pub fn observer(self: &Arc<Self>, zone: Zone) -> Observer {
        let builds = Arc::clone(self);
        Observer(Arc::new(move |line| builds.line(zone, line)))
    }

    /// How many builds of `zone` have finished.
    pub fn finished(&self, zone: Zone) -> u64 {
        find(&self.lock(), zone).map_or(0, |b| b.finished)
    }

    /// Waits until `zone` has finished a build after its `finished`-th
    /// (true), or has not begun one and printed nothing for `quiet` since
    /// the wait began (nothing to build), or `max` has passed.
    pub fn wait_finished(&self, zone: Zone, after: u64, quiet: Duration, max: Duration) -> bool {
        let since = Instant::now();
        let deadline = since + max;
        let mut zones = self.lock();
        loop {
            let Some(build) = find(&zones, zone) else {
                return false;
            };
            if build.finished > after {
                return true;
            }
            let now = Instant::now();
            let heard = build.last_line.max(since);
            if now >= deadline || (build.started.is_none() && now - heard >= quiet) {
                return false;
            }
            zones = self
                .changed
                .wait_timeout(zones, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Zone, ZoneBuild)>> {
        self.zones.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn line(&self, zone: Zone, raw: &str) {
        let line = strip_ansi_escapes::strip_str(raw);
        let mut report = None;
        {
            let mut zones = self.lock();
            let Some((_, build)) = zones.iter_mut().find(|(z, _)| *z == zone) else {
                return;
            };
            build.last_line = Instant::now();
            let said = classify(&line);
            if build.in_error && said == Said::Other {
                if line.trim().is_empty() {
                    build.in_error = false;
                }
                keep(&mut build.errors, &line);
            }
            match said {
                Said::Compiling if build.started.is_none() => {
                    build.started = Some(Instant::now());
                    build.cargo_done = 0;
                    build.errors.clear();
                    if build.served {
                        println!("    ▸ {zone}: rebuilding…");
                    }
                }
                Said::Error => {
                    build.in_error = true;
                    keep(&mut build.errors, &line);
                }
                Said::Failed => {
                    let text = if build.errors.is_empty() {
                        "The build failed; the terminal running `cargo xtask dev` shows why."
                            .to_owned()
                    } else {
                        build.errors.join("\n")
                    };
                    println!("    ▸ {zone}: build failed{}", summary(&build.errors));
                    build.failure_reported = true;
                    build.started = None;
                    build.in_error = false;
                    build.errors.clear();
                    build.finished += 1;
                    report = Some(Some(text));
                }
                Said::Built => {
                    if build.started.is_some() {
                        report = built(zone, build);
                    }
                    build.served |= line.contains("Serving at ");
                }
                // The server's and the browser bundle's cargo runs both
                // done without an error: built, whether or not cargo-leptos
                // goes on to say so (it does not when nothing changed).
                Said::CargoFinished => {
                    build.cargo_done += 1;
                    if build.cargo_done >= 2 && build.errors.is_empty() && build.started.is_some() {
                        report = built(zone, build);
                    }
                }
                _ => {}
            }
        }
        self.changed.notify_all();
        if let Some(failure) = report {
            self.tell_edge(zone, failure);
        }
    }

    /// `PUT` (a failure) or `DELETE` (built again) on the edge; an edge
    /// that is restarting misses it, and the next build tells it again.
    fn tell_edge(&self, zone: Zone, failure: Option<String>) {
        let url = format!("http://{}{DEV_BUILDS_PREFIX}/{}", self.edge, zone.name());
        let request = match failure {
            Some(text) => self.client.put(url).body(text),
            None => self.client.delete(url),
        };
        let _ = request.send();
    }
}

/// `zone`'s build ended well: the line to print, and the edge to be told
/// if it showed a failure.
fn built(zone: Zone, build: &mut ZoneBuild) -> Option<Option<String>> {
    if let (true, Some(started)) = (build.served, build.started) {
        println!(
            "    ▸ {zone}: rebuilt ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    build.started = None;
    build.errors.clear();
    build.finished += 1;
    std::mem::take(&mut build.failure_reported).then_some(None)
}

fn find(zones: &[(Zone, ZoneBuild)], zone: Zone) -> Option<&ZoneBuild> {
    zones.iter().find(|(z, _)| *z == zone).map(|(_, b)| b)
}

fn keep(errors: &mut Vec<String>, line: &str) {
    if errors.len() < MAX_ERROR_LINES {
        errors.push(line.trim_end().to_owned());
    }
}

/// ` at zones/shop/src/cart.rs:7:9: mismatched types` from the first
/// error and its location.
fn summary(errors: &[String]) -> String {
    let Some(first) = errors.iter().find(|l| l.trim_start().starts_with("error")) else {
        return String::new();
    };
    let message = first
        .split_once(": ")
        .map_or(first.as_str(), |(_, message)| message);
    match errors
        .iter()
        .find_map(|l| l.trim_start().strip_prefix("--> "))
    {
        Some(place) => format!(" at {place}: {message}"),
        None => format!(": {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builds() -> Arc<Builds> {
        // A port nothing listens on: the edge calls fail quietly.
        Builds::new(&[Zone::Shop], "127.0.0.1:9".parse().unwrap()).unwrap()
    }

    fn feed(builds: &Builds, lines: &str) {
        for line in lines.lines() {
            builds.line(Zone::Shop, line);
        }
    }

    #[test]
    fn a_failed_build_keeps_the_compiler_errors_and_a_good_one_clears_them() {
        let builds = builds();
        feed(
            &builds,
            "   Compiling zone-shop v0.1.0\n\x1b[32mServing at\x1b[0m http://127.0.0.1:3002",
        );
        assert_eq!(builds.finished(Zone::Shop), 1);
        feed(
            &builds,
            "   Compiling zone-shop v0.1.0 (/w/zones/shop)\n\
             error[E0308]: mismatched types\n  \
             --> zones/shop/src/cart.rs:7:9\n   \
             |\n\
             7 |     let x: i32 = \"a\";\n\
             \n\
             error: could not compile `zone-shop` (bin \"shop\") due to 1 previous error\n\
             \x1b[33mBuild failed\x1b[0m",
        );
        assert_eq!(builds.finished(Zone::Shop), 2);
        let zones = builds.lock();
        let shop = find(&zones, Zone::Shop).unwrap();
        assert!(shop.failure_reported);
        assert!(shop.errors.is_empty(), "cleared for the next build");
        drop(zones);
        feed(
            &builds,
            "   Compiling zone-shop v0.1.0\nWatch updated [Server]. Server restarting",
        );
        assert_eq!(builds.finished(Zone::Shop), 3);
        assert!(!find(&builds.lock(), Zone::Shop).unwrap().failure_reported);
        // A build that changes nothing ends with cargo's two runs alone.
        feed(
            &builds,
            "   Compiling zone-shop v0.1.0\n       Cargo finished cargo build --lib\n\
             Finished generating JS/WASM for front (wasm unchanged)\n       \
             Cargo finished cargo build --bin=zone-shop",
        );
        assert_eq!(builds.finished(Zone::Shop), 4);
        assert!(find(&builds.lock(), Zone::Shop).unwrap().started.is_none());
    }

    #[test]
    fn the_summary_names_the_place_and_the_message() {
        let errors: Vec<String> = [
            "error[E0308]: mismatched types",
            "  --> zones/shop/src/cart.rs:7:9",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(
            summary(&errors),
            " at zones/shop/src/cart.rs:7:9: mismatched types"
        );
        assert_eq!(summary(&[]), "");
    }

    #[test]
    fn waiting_ends_when_the_zone_has_nothing_to_build() {
        let builds = builds();
        let started = Instant::now();
        let built = builds.wait_finished(
            Zone::Shop,
            0,
            Duration::from_millis(200),
            Duration::from_secs(10),
        );
        assert!(!built);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
