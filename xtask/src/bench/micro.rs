//! The session-check micro-benchmark (criterion, shared-auth's
//! `benches/session_check.rs`), run with `cargo bench` on SQLite and on a
//! throwaway PostgreSQL; its estimates read back for the report.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use shared_auth::store::testing;

use super::Settings;
use crate::postgres::{self, Postgres};
use crate::probe;
use crate::project::{Project, run_step};
use crate::stack::empty_dir;

/// One benchmark: criterion's median time per iteration and its 95%
/// confidence interval, in nanoseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `group/function`, e.g. `session_check/sqlite`.
    pub name: String,
    pub median_ns: f64,
    pub lower_ns: f64,
    pub upper_ns: f64,
}

pub fn run(project: &Project, settings: &Settings, home: &Path) -> anyhow::Result<Vec<Row>> {
    empty_dir(home)?;
    // Both backends are part of the report: no PostgreSQL fails the run.
    let bin = postgres::binaries().context("the PostgreSQL session-check benchmark cannot run")?;
    let server = Postgres::start(&bin, "bench", probe::free_ports(1)?[0])?;
    let mut cargo = project.cargo();
    cargo
        .args(["bench", "--package", "shared-auth", "--features", "server"])
        .args(["--bench", "session_check", "--"])
        .args(["--warm-up-time", "1", "--measurement-time"])
        .arg(settings.micro_seconds.to_string())
        .env("CRITERION_HOME", home)
        .env(testing::POSTGRES_URL_VAR, server.admin_url())
        .env(testing::REQUIRE_POSTGRES_VAR, "1");
    run_step(
        "Session check micro-benchmark (criterion)",
        &mut cargo,
        "See the benchmark output above.",
    )?;
    drop(server);
    read(home)
}

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

/// Every benchmark criterion left under `home` (`<group>/<fn>/new/`).
fn read(home: &Path) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for dir in result_dirs(home)? {
        let json = |name: &str| -> anyhow::Result<String> {
            let path = dir.join(name);
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
        };
        let benchmark: Benchmark = serde_json::from_str(&json("benchmark.json")?)?;
        let estimates: Estimates = serde_json::from_str(&json("estimates.json")?)?;
        rows.push(Row {
            name: benchmark.full_id,
            median_ns: estimates.median.point_estimate,
            lower_ns: estimates.median.confidence_interval.lower_bound,
            upper_ns: estimates.median.confidence_interval.upper_bound,
        });
    }
    if rows.is_empty() {
        anyhow::bail!("criterion left no estimates in {}", home.display());
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// The `new/` folders two levels below `home`.
fn result_dirs(home: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for group in fs::read_dir(home).with_context(|| format!("cannot list {}", home.display()))? {
        let group = group?.path();
        if !group.is_dir() {
            continue;
        }
        for bench in fs::read_dir(&group)? {
            let new = bench?.path().join("new");
            if new.join("estimates.json").is_file() {
                dirs.push(new);
            }
        }
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_estimates() {
        let home = tempfile_dir();
        let new = home.join("layer").join("signed_in").join("new");
        fs::create_dir_all(&new).unwrap();
        let write = |name: &str, text: &str| fs::write(new.join(name), text).unwrap();
        write(
            "benchmark.json",
            r#"{"full_id":"layer/signed_in","group_id":"layer"}"#,
        );
        write(
            "estimates.json",
            r#"{"median":{"point_estimate":79000.5,"standard_error":1.0,
                "confidence_interval":{"confidence_level":0.95,"lower_bound":77000.0,"upper_bound":81000.0}}}"#,
        );
        let rows = read(&home).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name, "layer/signed_in");
        assert!((rows[0].median_ns - 79000.5).abs() < 1e-9);
        assert!((rows[0].upper_ns - 81000.0).abs() < 1e-9);
        fs::remove_dir_all(&home).unwrap();
        assert!(
            read(&home).is_err(),
            "no folder is an error, not an empty report"
        );
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-micro-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }
}
