//! What each zone is doing under `cargo xtask dev`, one line per change:
//! `shop: building…` → `shop: ready (110.2 s)` at the first start, and
//! `shop: not answering…` → `shop: ready (…)` whenever a zone stops
//! answering its health check for a while (a crash, a failed restart).
//! A rebuild after an edit swaps the server in well under a poll, so it
//! shows as cargo-leptos' own output, compiler errors included, beside
//! these lines.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use contracts::Zone;

use crate::probe::Probe;

/// How often each zone's health endpoint is asked.
const POLL: Duration = Duration::from_millis(250);

/// A zone's state as its health endpoint shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not answering since this instant (building, rebuilding, restarting).
    Down(Instant),
    Up,
}

/// How a zone comes up under `cargo xtask dev`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Watched: built by `cargo leptos watch` first.
    Building,
    /// From its release build.
    Starting,
}

/// Prints the state changes of `zones` (each at its direct address) until
/// the process ends.
pub fn report(zones: Vec<(Zone, SocketAddr, Start)>) -> anyhow::Result<()> {
    let probe = Probe::new()?;
    thread::spawn(move || {
        let started = Instant::now();
        let mut states: Vec<State> = zones.iter().map(|_| State::Down(started)).collect();
        for (zone, _, start) in &zones {
            match start {
                Start::Building => println!("    ▸ {zone}: building…"),
                Start::Starting => println!("    ▸ {zone}: starting (release build)…"),
            }
        }
        loop {
            for ((zone, addr, _), state) in zones.iter().zip(states.iter_mut()) {
                let up = probe
                    .status(*addr, &zone.health_path())
                    .is_some_and(|status| status < 500);
                if let Some(line) = transition(*zone, state, up) {
                    println!("{line}");
                }
            }
            thread::sleep(POLL);
        }
    });
    Ok(())
}

/// Moves `state` on from one probe; the line to print, if it changed.
fn transition(zone: Zone, state: &mut State, up: bool) -> Option<String> {
    match (*state, up) {
        (State::Down(since), true) => {
            *state = State::Up;
            Some(format!(
                "    ▸ {zone}: ready ({:.1} s)",
                since.elapsed().as_secs_f64()
            ))
        }
        (State::Up, false) => {
            *state = State::Down(Instant::now());
            Some(format!("    ▸ {zone}: not answering…"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_for_each_change_and_none_otherwise() {
        let mut state = State::Down(Instant::now());
        assert_eq!(transition(Zone::Shop, &mut state, false), None);
        let ready = transition(Zone::Shop, &mut state, true).unwrap();
        assert!(ready.starts_with("    ▸ shop: ready ("), "{ready}");
        assert_eq!(transition(Zone::Shop, &mut state, true), None);
        assert_eq!(
            transition(Zone::Shop, &mut state, false).as_deref(),
            Some("    ▸ shop: not answering…")
        );
        assert!(matches!(state, State::Down(_)));
    }
}
