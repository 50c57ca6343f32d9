//! `cargo xtask start`: release build, then the production-shape servers.

use std::time::Duration;

use crate::project::{Project, run_step, step};
use crate::stack::{self, Ports};
use crate::supervisor::{Sink, Supervisor};
use crate::tools;

pub fn run(project: &Project) -> anyhow::Result<()> {
    tools::ensure(project, tools::Need::default())?;
    build_release(project)?;
    let ports = Ports::standard();
    ports.check_free()?;
    let shared = stack::Shared::standard(&ports);
    crate::migrate::run(&shared.database_url)?;
    step("Starting the zones and the edge");
    let mut supervisor = Supervisor::new()?;
    stack::spawn_release(&mut supervisor, project, &ports, &shared, |_| {
        Sink::Terminal
    })?;
    supervisor.wait_ready(&ports.readiness(), Duration::from_secs(60))?;
    println!(
        "\n    Ready: {}   (Ctrl-C stops everything)\n",
        ports.edge_url()
    );
    supervisor.run_until_stopped()
}

/// Release build of every zone (server + wasm through cargo-leptos, with
/// wasm-opt) and of the edge.
pub fn build_release(project: &Project) -> anyhow::Result<()> {
    run_step(
        "Building every zone for release (cargo leptos build --release)",
        project.cargo().args(["leptos", "build", "--release"]),
        "See the compiler output above.",
    )?;
    run_step(
        "Building the edge for release",
        project
            .cargo()
            .args(["build", "--release", "--package", "edge"]),
        "See the compiler output above.",
    )
}
