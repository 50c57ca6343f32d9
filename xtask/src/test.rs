//! `cargo xtask test`: every check CI runs, in order, failing fast.
//!
//! 1. tools (including Chromium);
//! 2. rustfmt;
//! 3. clippy on the server (`ssr`) and browser (`hydrate`, wasm32) builds;
//! 4. unit and integration tests on SQLite, then on a throwaway PostgreSQL
//!    the store suite's PostgreSQL variants (`#[ignore]`d under plain
//!    `cargo test`) and the zones' tests again; no PostgreSQL fails the run;
//! 5. release build;
//! 6. the whole stack on free ports in the default session mode (token):
//!    `verify-auth` and Playwright driving Chromium through the edge; then
//!    `verify-auth` again on a stack in the other mode (store); then the
//!    edge's development waiting page in Chromium, on a stack whose shop
//!    the spec starts late;
//! 7. bounded load and fault tests (SQLite, then PostgreSQL with several
//!    instances per zone; no PostgreSQL fails the run), see `faults`;
//! 8. a smoke run of `cargo xtask bench` (every section but the dev loop,
//!    one-second runs), so the performance suite keeps working.
//!
//! Everything started is stopped, also on failure.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::Context as _;

use contracts::Zone;
use shared_auth::store::testing;

use crate::faults;
use crate::postgres::{self, Postgres};
use crate::probe;
use crate::project::{Project, run_step, step};
use crate::stack::{self, FreshStack, Limits};
use crate::start::build_release;
use crate::tools;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Skip the browser tests (and the release build they need).
    #[arg(long, conflicts_with = "e2e_only")]
    no_e2e: bool,
    /// Only the release build and the browser tests.
    #[arg(long)]
    e2e_only: bool,
    /// Session mode of the full end-to-end run (verify-auth and
    /// Playwright); the other mode gets verify-auth only.
    #[arg(long, value_enum, default_value_t = Mode::Token)]
    session_mode: Mode,
    /// Extra arguments for `playwright test` (e.g. `--grep shop`).
    #[arg(last = true)]
    playwright_args: Vec<String>,
}

/// Zone features for the server build of every zone.
fn zone_features(feature: &str) -> String {
    Zone::ALL
        .iter()
        .map(|z| format!("{}/{feature}", z.package()))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn run(project: &Project, args: &TestArgs) -> anyhow::Result<()> {
    tools::ensure(
        project,
        tools::Need {
            browser: !args.no_e2e,
        },
    )?;
    if !args.e2e_only {
        rust_checks(project)?;
    }
    if !args.no_e2e {
        build_release(project)?;
        end_to_end(project, args)?;
        step("Load and fault tests (bounded)");
        faults::run(project, faults::Scale::bounded())?;
        step("Performance suite, smoke run (1-second runs; figures printed, not judged)");
        crate::bench::smoke(project)?;
    }
    step("All tests passed");
    Ok(())
}

/// `cargo xtask soak`: the load and fault tests at `scale`.
pub fn soak(project: &Project, scale: faults::Scale) -> anyhow::Result<()> {
    tools::ensure(project, tools::Need::default())?;
    build_release(project)?;
    faults::run(project, scale)?;
    step("Soak passed");
    Ok(())
}

fn rust_checks(project: &Project) -> anyhow::Result<()> {
    run_step(
        "Checking formatting (cargo fmt --check)",
        project.cargo().args(["fmt", "--all", "--check"]),
        "Run `cargo fmt --all` and commit the result.",
    )?;
    let ssr = zone_features("ssr");
    run_step(
        "Linting the server build (clippy, ssr)",
        project
            .cargo()
            .args(["clippy", "--workspace", "--all-targets", "--features", &ssr])
            .args(["--", "-D", "warnings"]),
        "Fix the lints above.",
    )?;
    let mut hydrate = project.cargo();
    hydrate.args(["clippy", "--target", "wasm32-unknown-unknown", "--lib"]);
    for zone in Zone::ALL {
        hydrate.args(["--package", zone.package()]);
    }
    hydrate.args([
        "--features",
        &zone_features("hydrate"),
        "--",
        "-D",
        "warnings",
    ]);
    run_step(
        "Linting the browser build (clippy, hydrate, wasm32)",
        &mut hydrate,
        "Fix the lints above.",
    )?;
    run_step(
        "Running unit and integration tests (SQLite)",
        project
            .cargo()
            .args(["test", "--workspace", "--features", &ssr]),
        "See the failing tests above.",
    )?;
    // One throwaway PostgreSQL for the rest: the store's conformance suite
    // and the zones' own tests run on it too. Promised, so never skipped:
    // no PostgreSQL fails the run.
    let bin = postgres::binaries()
        .context("the PostgreSQL tests cannot run (`cargo xtask test` runs them on every run)")?;
    let pg = Postgres::start(&bin, "tests", probe::free_ports(1)?[0])?;
    let mut store = project.cargo();
    store
        .args(["test", "--package", "shared-auth", "--features", "testing"])
        // The PostgreSQL variants are #[ignore]d under plain `cargo test`.
        .args(["--test", "store", "--", "--include-ignored", "postgres::"])
        .env(testing::POSTGRES_URL_VAR, pg.admin_url());
    run_step(
        "Running the store suite on PostgreSQL",
        &mut store,
        "See the failing tests above.",
    )?;
    let mut zones = project.cargo();
    zones.args(["test", "--tests", "--features", &ssr]);
    for zone in Zone::ALL {
        zones.args(["--package", zone.package()]);
    }
    zones
        .env(testing::BACKEND_VAR, "postgres")
        .env(testing::POSTGRES_URL_VAR, pg.admin_url());
    run_step(
        "Running the zones' tests again on PostgreSQL",
        &mut zones,
        "See the failing tests above.",
    )
}

/// A `SESSION_MODE` (the zones' default is token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Token,
    Store,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Store => "store",
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Token => Self::Store,
            Self::Store => Self::Token,
        }
    }
}

fn end_to_end(project: &Project, args: &TestArgs) -> anyhow::Result<()> {
    // The zones, prefixes and sign-in paths the browser tests navigate by.
    let manifest = crate::manifest::write(project)?;
    let mode = args.session_mode;
    let mut stack = verified_stack(project, "e2e", mode.name())?;
    let edge = stack.ports.edge_url();
    let mut playwright = tools::playwright(project, "playwright.config.ts", &edge, &manifest);
    playwright.args(&args.playwright_args);
    let result = run_step(
        &format!(
            "Running the browser tests (Playwright, Chromium, through the edge, SESSION_MODE={})",
            mode.name()
        ),
        &mut playwright,
        "See the failures above; traces are in end2end/test-results.",
    );
    stack.supervisor.shutdown();
    if result.is_err() {
        print_log_tails(&stack.logs);
    }
    result?;
    let mut other = verified_stack(project, "e2e-other-mode", mode.other().name())?;
    other.supervisor.shutdown();
    waiting_page(project, &manifest)
}

/// The edge's development waiting page in Chromium: a stack whose shop is
/// down, an edge with `EDGE_DEV_WAITING_PAGE`; the spec
/// (`end2end/dev/`) opens the shop, sees the waiting page, starts the shop
/// itself and expects the page to turn into it without a reload by hand.
fn waiting_page(project: &Project, manifest: &Path) -> anyhow::Result<()> {
    let zone = Zone::Shop;
    let env = [("EDGE_DEV_WAITING_PAGE", "true")];
    let mut stack = FreshStack::start(project, "e2e-waiting-page", 1, None, &env, Limits::On)?;
    let name = stack.ports.instance_name(zone, 0);
    stack.supervisor.kill(&name)?;
    let command =
        stack::zone_command(project, zone, stack.ports.instances(zone)[0], &stack.shared)?;
    // The spec starts the zone with exactly this command and environment.
    let mut env: BTreeMap<String, String> = std::env::vars().collect();
    for (key, value) in command.get_envs() {
        if let (Some(key), Some(value)) = (key.to_str(), value.and_then(|v| v.to_str())) {
            env.insert(key.to_owned(), value.to_owned());
        }
    }
    let late = serde_json::json!({
        "zone": zone.name(),
        "program": command.get_program().to_string_lossy(),
        "args": command.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
        "env": env,
        "cwd": project.root,
    });
    let late_file = stack.logs.join("late-zone.json");
    fs::write(&late_file, serde_json::to_vec_pretty(&late)?)
        .with_context(|| format!("cannot write {}", late_file.display()))?;
    let mut playwright = tools::playwright(
        project,
        "playwright.dev.config.ts",
        &stack.ports.edge_url(),
        manifest,
    );
    playwright.env("E2E_LATE_ZONE", &late_file);
    let result = run_step(
        "Running the waiting-page browser test (the shop started late, by the spec)",
        &mut playwright,
        "See the failures above; traces are in end2end/test-results.",
    );
    stack.supervisor.shutdown();
    if result.is_err() {
        print_log_tails(&stack.logs);
    }
    result
}

/// A fresh stack in session mode `mode`, which `cargo xtask verify-auth`
/// has checked through its edge.
fn verified_stack(project: &Project, name: &str, mode: &str) -> anyhow::Result<FreshStack> {
    // The edge trusts 127.0.0.1 as a proxy, so verify-auth can play a
    // client behind it (X-Forwarded-For) and see `/_edge/status` refuse it.
    let env = [
        ("EDGE_TRUSTED_PROXIES", "127.0.0.1"),
        ("SESSION_MODE", mode),
    ];
    let mut stack = FreshStack::start(project, name, 1, None, &env, Limits::On)?;
    step(&format!("Session mode: {mode}"));
    let options = crate::verify_auth::Options {
        base_url: stack.ports.edge_url(),
        trusted_proxy_edge: true,
    };
    if let Err(err) = crate::verify_auth::run_with(&options) {
        stack.supervisor.shutdown();
        print_log_tails(&stack.logs);
        return Err(err);
    }
    Ok(stack)
}

fn print_log_tails(dir: &std::path::Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(text) = fs::read_to_string(entry.path()) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(30)..];
        println!(
            "\n--- last lines of {} ---\n{}",
            entry.path().display(),
            tail.join("\n")
        );
    }
}
