//! Where things are: the workspace root, the cargo target directory, the
//! cache for tool builds; and running a build step with a clear message.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};

/// The cargo profile of the edge's release build (whole-program
/// optimisation; see the workspace's Cargo.toml).
pub const EDGE_PROFILE: &str = "release-edge";

#[derive(Clone, Debug)]
pub struct Project {
    /// The workspace root (where the top-level Cargo.toml is).
    pub root: PathBuf,
    /// Cargo's target directory (honours `CARGO_TARGET_DIR`).
    pub target_dir: PathBuf,
}

impl Project {
    /// Asks cargo where the workspace and its target directory are.
    pub fn locate() -> anyhow::Result<Self> {
        let output = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .context("cannot run `cargo metadata`")?;
        if !output.status.success() {
            bail!(
                "`cargo metadata` failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("cannot parse `cargo metadata`")?;
        let path = |key: &str| -> anyhow::Result<PathBuf> {
            metadata[key]
                .as_str()
                .map(PathBuf::from)
                .with_context(|| format!("`cargo metadata` has no {key}"))
        };
        Ok(Self {
            root: path("workspace_root")?,
            target_dir: path("target_directory")?,
        })
    }

    /// A release binary of the workspace.
    pub fn release_binary(&self, name: &str) -> PathBuf {
        self.target_dir.join("release").join(name)
    }

    /// The edge's release binary, built with [`EDGE_PROFILE`].
    pub fn edge_release_binary(&self) -> PathBuf {
        self.target_dir.join(EDGE_PROFILE).join("edge")
    }

    /// A debug binary of the workspace.
    pub fn debug_binary(&self, name: &str) -> PathBuf {
        self.target_dir.join("debug").join(name)
    }

    /// The folder cargo-leptos writes a zone's site to (its `site-root`).
    pub fn site_root(&self, zone: contracts::Zone) -> PathBuf {
        self.root.join("target").join("site").join(zone.name())
    }

    /// Scratch space for this project's tooling (logs, reports).
    pub fn xtask_dir(&self) -> PathBuf {
        self.target_dir.join("xtask")
    }

    /// A command that runs in the workspace root.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.root);
        command
    }

    /// A cargo command that runs in the workspace root.
    pub fn cargo(&self) -> Command {
        self.command(cargo())
    }
}

/// The cargo that runs us (so a rustup toolchain override is respected).
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Where tools are built from source, kept between runs.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("XDG_CACHE_HOME") {
        Some(dir) => PathBuf::from(dir).join("leptos-zones"),
        None => home().join(".cache").join("leptos-zones"),
    }
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

/// Prints a step header.
pub fn step(what: &str) {
    println!("\n==> {what}");
}

/// Runs `command` to completion as step `what`, with its output on the
/// terminal; fails with `what` and `hint` when it fails.
pub fn run_step(what: &str, command: &mut Command, hint: &str) -> anyhow::Result<()> {
    step(what);
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("cannot start: {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status}). {hint}");
    }
    println!("    done in {}", elapsed(started));
    Ok(())
}

/// `12.3s` or `4m05s`.
pub fn elapsed(since: Instant) -> String {
    let secs = since.elapsed().as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use contracts::Zone;
    use serde_json::Value;

    /// The `[[workspace.metadata.leptos]]` entries, from `cargo metadata`.
    fn leptos_projects() -> Vec<Value> {
        let output = std::process::Command::new(super::cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .expect("cargo metadata runs");
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("its JSON");
        metadata["metadata"]["leptos"]
            .as_array()
            .cloned()
            .expect("[[workspace.metadata.leptos]] entries")
    }

    /// cargo-leptos builds from the Cargo metadata, the servers and the edge
    /// from `Zone`: the two must say the same thing.
    #[test]
    fn the_cargo_leptos_projects_match_the_zone_manifest() {
        let projects = leptos_projects();
        assert_eq!(projects.len(), Zone::ALL.len(), "one project per zone");
        for zone in Zone::ALL {
            let project = projects
                .iter()
                .find(|p| p["name"] == zone.name())
                .unwrap_or_else(|| panic!("no cargo-leptos project named {zone}"));
            let field = |key: &str| project[key].clone();
            assert_eq!(field("bin-package"), zone.package(), "{zone}");
            assert_eq!(field("lib-package"), zone.package(), "{zone}");
            assert_eq!(field("site-pkg-dir"), zone.pkg_dir(), "{zone}");
            assert_eq!(
                field("site-root"),
                format!("target/site/{}", zone.name()),
                "{zone}"
            );
            assert_eq!(
                field("site-addr"),
                zone.default_addr().to_string(),
                "{zone}"
            );
            assert_eq!(field("reload-port"), zone.default_reload_port(), "{zone}");
            assert_eq!(
                field("output-name"),
                contracts::zone::OUTPUT_NAME,
                "every zone shares one output-name (TOOLCHAIN.md)"
            );
        }
    }
}
