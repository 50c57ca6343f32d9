//! `cargo xtask start`: release build, then the production-shape servers:
//! one or more processes per zone behind the edge, on SQLite or PostgreSQL,
//! signing in through the mock OpenID provider (development only).

use std::time::Duration;

use crate::postgres::{self, Postgres};
use crate::project::{Project, run_step, step};
use crate::stack::{self, MAX_INSTANCES, Ports};
use crate::supervisor::{Sink, Supervisor};
use crate::{probe, tools};

#[derive(clap::Args)]
pub struct StartArgs {
    /// Processes per zone, on distinct ports (3001, 3011, … for identity);
    /// the edge balances over them and fails over when one is down.
    #[arg(long, default_value_t = 1, value_parser = parse_instances)]
    instances: usize,
    /// The store every instance shares: sqlite://path or postgres://….
    #[arg(long, env = "DATABASE_URL", default_value = crate::migrate::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Run a throwaway PostgreSQL server (Debian's, installed if missing)
    /// for this run instead; its data is deleted when the run stops.
    #[arg(long)]
    postgres: bool,
}

fn parse_instances(value: &str) -> Result<usize, String> {
    match value.parse() {
        Ok(n) if (1..=MAX_INSTANCES).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 1 to {MAX_INSTANCES}")),
    }
}

pub fn run(project: &Project, args: &StartArgs) -> anyhow::Result<()> {
    tools::ensure(project, tools::Need::default())?;
    build_release(project)?;
    let ports = Ports::standard(args.instances);
    ports.check_free()?;
    let server = if args.postgres {
        let bin = postgres::binaries()?;
        Some(Postgres::start(&bin, "start", probe::free_ports(1)?[0])?)
    } else {
        None
    };
    let mut shared = stack::Shared::standard(&ports);
    shared.database_url = match &server {
        Some(pg) => pg.url(),
        None => args.database_url.clone(),
    };
    crate::migrate::run(&shared.database_url)?;
    // For `npm run e2e` against this stack.
    crate::manifest::write(project)?;
    step(&format!(
        "Starting {} instance(s) of each zone, the mock provider and the edge",
        args.instances
    ));
    let mut supervisor = Supervisor::new()?;
    // Like systemd or Kubernetes: a process that exits is restarted with
    // backoff while the rest keeps serving (the edge shows its 502 page for
    // a zone that is down meanwhile).
    stack::spawn_release(
        &mut supervisor,
        project,
        &ports,
        &shared,
        stack::Restart::Always,
        |_| Sink::Terminal,
    )?;
    supervisor.wait_ready(&ports.readiness(), Duration::from_secs(60))?;
    println!(
        "\n    Ready: {}   (a process that exits is restarted; Ctrl-C stops everything)\n",
        ports.edge_url()
    );
    let result = supervisor.run_until_stopped();
    // Zones first, then the database they use.
    drop(supervisor);
    drop(server);
    result
}

/// Release build of every zone (server + wasm through cargo-leptos, with
/// wasm-opt; hashed and precompressed assets, see `site_assets`), of the
/// edge and of the mock OpenID provider.
pub fn build_release(project: &Project) -> anyhow::Result<()> {
    crate::site_assets::build_release(project, &contracts::Zone::ALL)?;
    run_step(
        "Building the mock OpenID provider for release",
        project
            .cargo()
            .args(["build", "--release", "--package", crate::stack::MOCK_IDP]),
        "See the compiler output above.",
    )?;
    run_step(
        "Building the edge for release (whole-program optimisation)",
        project.cargo().args([
            "build",
            "--profile",
            crate::project::EDGE_PROFILE,
            "--package",
            "edge",
        ]),
        "See the compiler output above.",
    )
}
