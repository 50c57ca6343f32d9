//! The dev loop: how long `cargo leptos build` takes to rebuild one zone
//! (server binary and wasm bundle, debug, as `cargo leptos watch` does on
//! a save) after a shared-ui component changed.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::Settings;
use super::stats::Spread;
use crate::project::Project;

/// The zone rebuilt and the component edited.
const ZONE: &str = "shop";
pub const COMPONENT: &str = "shared-ui/src/footer.rs";

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub zone: &'static str,
    pub edited: &'static str,
    /// The build before the edits (warm-up; cold on a fresh machine).
    pub first_build_secs: f64,
    pub rebuild_secs: Spread,
}

pub fn run(project: &Project, settings: &Settings, out: &Path) -> anyhow::Result<Row> {
    let log = out.join("dev-loop.log");
    let _ = fs::remove_file(&log);
    let component = Edit::open(&project.root.join(COMPONENT), &out.join("footer.rs.orig"))?;
    println!("    first build of the {ZONE} zone (debug; not counted)…");
    let first = build(project, &log)?;
    println!("    done in {first:.1}s");
    let mut rebuilds = Vec::new();
    for n in 1..=settings.dev_loop_repeats {
        component.change(n)?;
        let secs = build(project, &log)?;
        println!("    edit {n} of {COMPONENT}: {ZONE} rebuilt in {secs:.1}s");
        rebuilds.push(secs);
    }
    component.restore()?;
    Ok(Row {
        zone: ZONE,
        edited: COMPONENT,
        first_build_secs: first,
        rebuild_secs: Spread::of(rebuilds),
    })
}

/// `cargo leptos build --project shop`, output to `log`; seconds taken.
fn build(project: &Project, log: &Path) -> anyhow::Result<f64> {
    let sink = || -> anyhow::Result<Stdio> {
        let file = File::options().create(true).append(true).open(log)?;
        Ok(Stdio::from(file))
    };
    let started = Instant::now();
    let status = project
        .cargo()
        .args(["leptos", "build", "--project", ZONE])
        .stdout(sink()?)
        .stderr(sink()?)
        .status()
        .context("cannot run cargo leptos")?;
    if !status.success() {
        bail!(
            "cargo leptos build --project {ZONE} failed ({status}); see {}",
            log.display()
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A source file changed for the measurement and put back afterwards. Its
/// original is kept beside the report, so a run that was killed midway
/// is mended by the next one.
pub struct Edit {
    path: PathBuf,
    backup: PathBuf,
    original: String,
}

impl Edit {
    pub fn open(path: &Path, backup: &Path) -> anyhow::Result<Self> {
        if backup.is_file() {
            println!(
                "    putting back {} from an interrupted run",
                path.display()
            );
            fs::copy(backup, path).with_context(|| format!("cannot restore {}", path.display()))?;
        }
        let original =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        fs::write(backup, &original)
            .with_context(|| format!("cannot write {}", backup.display()))?;
        Ok(Self {
            path: path.to_owned(),
            backup: backup.to_owned(),
            original,
        })
    }

    /// Edit `n`: `n` lines at the top, so every span in the file moves (the
    /// worst case for incremental compilation of an edit in one file).
    pub fn change(&self, n: usize) -> anyhow::Result<()> {
        let edited = edited(&self.original, n);
        fs::write(&self.path, edited)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    pub fn restore(&self) -> anyhow::Result<()> {
        fs::write(&self.path, &self.original)
            .with_context(|| format!("cannot restore {}", self.path.display()))?;
        let _ = fs::remove_file(&self.backup);
        Ok(())
    }
}

impl Drop for Edit {
    fn drop(&mut self) {
        if self.backup.is_file()
            && let Err(err) = self.restore()
        {
            // The edit must not stay unnoticed in the source tree.
            eprintln!(
                "xtask: {err:#}: put it back by hand from {}",
                self.backup.display()
            );
        }
    }
}

/// `n` comment lines on top: each edit moves every span by a different
/// amount, so each one changes the binary (an edit that rebuilt into the
/// same binary as the one before would not restart the server under
/// `cargo leptos watch`, nor reload the page).
fn edited(original: &str, n: usize) -> String {
    let lines = "// dev-loop edit by `cargo xtask bench` (put back when it ends)\n".repeat(n);
    format!("{lines}{original}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_put_back_also_after_an_interrupted_run() {
        let dir = std::env::temp_dir().join(format!("xtask-devloop-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("footer.rs");
        let backup = dir.join("footer.rs.orig");
        fs::write(&file, "fn footer() {}\n").unwrap();
        {
            let edit = Edit::open(&file, &backup).unwrap_or_else(|e| panic!("{e}"));
            edit.change(2).unwrap();
            let now = fs::read_to_string(&file).unwrap();
            assert_eq!(now.lines().count(), 3, "two lines on top: {now}");
            assert!(now.starts_with("// dev-loop edit") && now.ends_with("fn footer() {}\n"));
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "fn footer() {}\n");
        assert!(!backup.exists());
        // A run killed after its edit left the backup: the next one mends.
        fs::write(&backup, "fn footer() {}\n").unwrap();
        fs::write(&file, edited("fn footer() {}\n", 1)).unwrap();
        let edit = Edit::open(&file, &backup).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(edit.original, "fn footer() {}\n");
        drop(edit);
        fs::remove_dir_all(&dir).unwrap();
    }
}
