//! `cargo xtask <command>`: everything a person would otherwise have to
//! remember. `dev` and `test` install what is missing first, so both work on
//! a fresh machine.

mod bench;
mod client;
mod compress;
mod dev;
mod faults;
mod load;
mod manifest;
mod migrate;
mod postgres;
mod probe;
mod processes;
mod project;
mod rebuild_order;
mod release_zones;
mod rotate_keys;
mod site_assets;
mod stack;
mod start;
mod supervisor;
mod test;
mod tools;
mod verify_auth;
mod zone_builds;
mod zone_progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, run and test the Leptos multi-zone app set."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install every missing tool: the wasm32 target, cargo-leptos, the
    /// wasm-bindgen CLI, npm packages (wasm-opt, Playwright) and, with
    /// `--browser`, Debian's Chromium.
    Setup {
        /// Also install Chromium for the end-to-end tests.
        #[arg(long)]
        browser: bool,
    },
    /// Apply the database migrations (DATABASE_URL, default
    /// sqlite://data/sessions.sqlite). `dev`, `start` and `test` do this first.
    Migrate {
        #[arg(long, env = "DATABASE_URL", default_value = migrate::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Replace the session-token signing key identity uses (DATABASE_URL,
    /// as for `migrate`). The old key stays published until its tokens
    /// have expired.
    RotateKeys {
        #[arg(long, env = "DATABASE_URL", default_value = migrate::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Write the zone manifest (contracts::zone) as JSON for the browser
    /// tests, to target/e2e/manifest.json; prints the path. `test`, `dev`
    /// and `start` write it too.
    Manifest,
    /// Check sign-in across zones over HTTP against a running stack
    /// (`cargo xtask dev` or `start`): the reference POC's list plus attacks.
    VerifyAuth(verify_auth::Options),
    /// Run the named zones (all when none is named) under `cargo leptos
    /// watch`, the others from their release builds, plus the edge on :8080.
    Dev(dev::DevArgs),
    /// Release build of every zone and the edge, then run them (production
    /// shape), optionally several instances per zone and on PostgreSQL.
    Start(start::StartArgs),
    /// Lint, unit and integration tests, release build, then Playwright
    /// through the edge against a freshly started stack, then bounded load
    /// and fault tests.
    Test(test::TestArgs),
    /// The load and fault tests of `test`, long: release build, then load
    /// on SQLite and on PostgreSQL with instances killed and the database
    /// restarted under load. Prints a table of the figures.
    Soak {
        /// Length of each load phase, in seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Concurrent virtual users.
        #[arg(long, default_value_t = 64)]
        users: usize,
        /// Instances per zone on PostgreSQL.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..=9))]
        instances: u16,
    },
    /// The performance suite: edge vs nginx, SSR per zone, session check,
    /// login flows, payload sizes, dev-loop rebuild. Release builds over
    /// loopback; prints a table, writes target/bench/results.{json,md} and
    /// chart.png. Installs nginx and wrk when missing.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = project::Project::locate().and_then(|project| {
        // Relative paths (the SQLite file, key files) mean the workspace root.
        std::env::set_current_dir(&project.root)?;
        Ok(project)
    });
    let result = result.and_then(|project| match cli.command {
        Command::Setup { browser } => tools::ensure(&project, tools::Need { browser }),
        Command::Migrate { database_url } => migrate::run(&database_url),
        Command::RotateKeys { database_url } => rotate_keys::run(&database_url),
        Command::Manifest => manifest::run(&project),
        Command::VerifyAuth(options) => verify_auth::run_with(&options),
        Command::Dev(args) => dev::run(&project, &args),
        Command::Start(args) => start::run(&project, &args),
        Command::Test(args) => test::run(&project, &args),
        Command::Bench(args) => bench::run(&project, &args),
        Command::Soak {
            seconds,
            users,
            instances,
        } => test::soak(
            &project,
            faults::Scale::soak(seconds, users, usize::from(instances)),
        ),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
