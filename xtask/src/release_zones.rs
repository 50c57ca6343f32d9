//! The zones `cargo xtask dev ZONE…` does not watch run from their release
//! builds, built here first when missing or older than their sources, with
//! the same cargo-leptos step as `cargo xtask start` (one zone at a time).

use std::path::Path;
use std::time::SystemTime;

use contracts::Zone;
use walkdir::WalkDir;

use crate::project::{Project, run_step, step};
use crate::rebuild_order::SHARED;

/// Builds the release build of each of `zones` that is missing or stale.
pub fn build_stale(project: &Project, zones: &[Zone]) -> anyhow::Result<()> {
    for &zone in zones {
        if is_fresh(project, zone) {
            step(&format!("The release build of {zone} is up to date"));
            continue;
        }
        run_step(
            &format!("Building {zone} for release (cargo leptos build --release --project {zone})"),
            project
                .cargo()
                .args(["leptos", "build", "--release", "--project", zone.name()]),
            "See the compiler output above.",
        )?;
    }
    Ok(())
}

/// Whether `zone`'s release binary and site exist and are newer than
/// every source they are built from.
fn is_fresh(project: &Project, zone: Zone) -> bool {
    let binary = project.release_binary(zone.package());
    let built = [binary.as_path(), &project.site_root(zone)]
        .into_iter()
        .map(modified)
        .min()
        .flatten();
    let Some(built) = built else {
        return false;
    };
    let zone_dir = format!("zones/{}", zone.name());
    let sources = SHARED
        .iter()
        .copied()
        .chain([zone_dir.as_str(), "Cargo.lock", "Cargo.toml"]);
    sources
        .filter_map(|dir| newest(&project.root.join(dir)))
        .all(|newest| newest <= built)
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file under `path` (or of `path`).
fn newest(path: &Path) -> Option<SystemTime> {
    WalkDir::new(path)
        .into_iter()
        .filter_entry(|e| e.file_name() != "target" && e.file_name() != "node_modules")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| modified(e.path()))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_file_of_a_tree_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/target")).unwrap();
        std::fs::write(dir.path().join("a/old.rs"), "").unwrap();
        let old = newest(dir.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Build output does not make the sources newer.
        std::fs::write(dir.path().join("a/target/out"), "").unwrap();
        assert_eq!(newest(dir.path()), Some(old));
        std::fs::write(dir.path().join("a/new.rs"), "").unwrap();
        assert!(newest(dir.path()).unwrap() > old);
        assert_eq!(newest(&dir.path().join("missing")), None);
    }
}
