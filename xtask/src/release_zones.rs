//! The zones `cargo xtask dev ZONE…` does not watch run from their release
//! builds, built here first when missing or older than their sources, with
//! the same step as `cargo xtask start` (`site_assets::build_release`, one
//! zone at a time).

use std::path::Path;
use std::time::SystemTime;

use contracts::Zone;
use walkdir::WalkDir;

use crate::project::{Project, step};
use crate::rebuild_order::SHARED;

/// Builds the release build of each of `zones` that is missing or stale.
pub fn build_stale(project: &Project, zones: &[Zone]) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for &zone in zones {
        if is_fresh(project, zone) {
            step(&format!("The release build of {zone} is up to date"));
        } else {
            stale.push(zone);
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    crate::site_assets::build_release(project, &stale)
}

/// Whether `zone`'s release binary and site exist and are newer than
/// every source they are built from. The site counts by its asset
/// manifest, which only a release build writes (`cargo leptos watch`
/// fills the same folder with a debug bundle).
fn is_fresh(project: &Project, zone: Zone) -> bool {
    let binary = project.release_binary(zone.package());
    let manifest = project
        .site_root(zone)
        .join(zone.pkg_dir())
        .join(contracts::assets::MANIFEST_FILE);
    let built = [binary.as_path(), &manifest]
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

/// Folders under a crate that its release build does not read.
const NOT_BUILT: [&str; 4] = ["target", "node_modules", "tests", "benches"];

/// The newest modification time of a file under `path` (or of `path`)
/// that a release build reads (tests and benches do not count).
fn newest(path: &Path) -> Option<SystemTime> {
    WalkDir::new(path)
        .into_iter()
        .filter_entry(|e| !NOT_BUILT.iter().any(|skip| e.file_name() == *skip))
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
        // Build output and tests do not make the sources newer.
        std::fs::write(dir.path().join("a/target/out"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("a/tests")).unwrap();
        std::fs::write(dir.path().join("a/tests/pages.rs"), "").unwrap();
        assert_eq!(newest(dir.path()), Some(old));
        std::fs::write(dir.path().join("a/new.rs"), "").unwrap();
        assert!(newest(dir.path()).unwrap() > old);
        assert_eq!(newest(&dir.path().join("missing")), None);
    }
}
