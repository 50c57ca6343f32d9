//! What a release build leaves in each zone's `<site-root>/<pkg-dir>/`
//! besides cargo-leptos' `app.{js,wasm,css}`:
//!
//! * content-hashed copies `app.<hash>.{js,wasm,css}` and `assets.json`
//!   naming their stem (`contracts::assets`), which a production zone links
//!   and serves as immutable;
//! * the previous release's hashed files, kept for one more release: the
//!   build empties the site root, so they are read before it and written
//!   back after, and a page of the old build that loads its wasm during a
//!   rolling deploy still finds it (older ones are not kept);
//! * `.br` and `.gz` beside every compressible file of 1 KiB or more, at
//!   the highest levels (a build step's time, not a request's), which the
//!   zones serve by `Accept-Encoding` (leptos_axum's `ServeDir` with its
//!   precompressed variants).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use contracts::Zone;
use contracts::assets::{AssetManifest, MANIFEST_FILE, is_hashed, stem};
use contracts::zone::OUTPUT_NAME;
use sha2::{Digest as _, Sha256};
use walkdir::WalkDir;

use crate::compress::{brotli, gzip};
use crate::project::{Project, run_step};

/// The files cargo-leptos writes that get a hashed copy.
const HASHED: [&str; 3] = ["js", "wasm", "css"];
/// Extensions worth compressing.
const COMPRESSIBLE: [&str; 7] = ["js", "wasm", "css", "json", "svg", "html", "txt"];
/// Smaller files gain nothing from compression.
const MIN_COMPRESS_BYTES: u64 = 1024;

/// The hashed files of one zone's current release, read before a build.
pub struct Kept {
    zone: Zone,
    stem: Option<String>,
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// `cargo leptos build --release` for `zones` (every zone when all are
/// given, else one project at a time), with the hashed copies, the
/// previous release's files and the compressed variants around it.
pub fn build_release(project: &Project, zones: &[Zone]) -> anyhow::Result<()> {
    let kept: Vec<Kept> = zones
        .iter()
        .map(|&zone| keep(project, zone))
        .collect::<anyhow::Result<_>>()?;
    if zones.len() == Zone::ALL.len() {
        run_step(
            "Building every zone for release (cargo leptos build --release)",
            project.cargo().args(["leptos", "build", "--release"]),
            "See the compiler output above.",
        )?;
    } else {
        for zone in zones {
            run_step(
                &format!(
                    "Building {zone} for release (cargo leptos build --release --project {zone})"
                ),
                project
                    .cargo()
                    .args(["leptos", "build", "--release", "--project", zone.name()]),
                "See the compiler output above.",
            )?;
        }
    }
    for kept in kept {
        finish(project, kept)?;
    }
    Ok(())
}

fn pkg_dir(project: &Project, zone: Zone) -> PathBuf {
    project.site_root(zone).join(zone.pkg_dir())
}

/// Reads the current release's hashed files of `zone`, if it has one.
fn keep(project: &Project, zone: Zone) -> anyhow::Result<Kept> {
    let dir = pkg_dir(project, zone);
    let stem = read_manifest(&dir).map(|m| m.stem);
    let mut files = Vec::new();
    if let Some(stem) = &stem {
        for ext in HASHED {
            for suffix in ["", ".br", ".gz"] {
                let path = dir.join(format!("{stem}.{ext}{suffix}"));
                if let Ok(bytes) = fs::read(&path) {
                    files.push((path, bytes));
                }
            }
        }
    }
    Ok(Kept { zone, stem, files })
}

fn read_manifest(dir: &Path) -> Option<AssetManifest> {
    let text = fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// After the build: the hashed copies, the previous release back, the
/// manifest, the compressed variants; prints what it wrote.
fn finish(project: &Project, kept: Kept) -> anyhow::Result<()> {
    let zone = kept.zone;
    let dir = pkg_dir(project, zone);
    let mut hasher = Sha256::new();
    let mut sources = Vec::new();
    for ext in HASHED {
        let path = dir.join(format!("{OUTPUT_NAME}.{ext}"));
        let bytes = fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (the release build writes it)",
                path.display()
            )
        })?;
        hasher.update(ext.as_bytes());
        hasher.update(&bytes);
        sources.push((ext, bytes));
    }
    let digest = hasher.finalize();
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let current = stem(OUTPUT_NAME, &hash[..contracts::assets::HASH_LEN]);
    let (raw, packed) = precompress(&project.site_root(zone))?;
    // The copies take the compressed variants along (compressed once).
    for (ext, bytes) in &sources {
        write(&dir.join(format!("{current}.{ext}")), bytes)?;
        for suffix in ["br", "gz"] {
            let variant = dir.join(format!("{OUTPUT_NAME}.{ext}.{suffix}"));
            if variant.is_file() {
                fs::copy(&variant, dir.join(format!("{current}.{ext}.{suffix}")))
                    .with_context(|| format!("cannot copy {}", variant.display()))?;
            }
        }
    }
    let previous = kept.stem.filter(|s| *s != current);
    if previous.is_some() {
        for (path, bytes) in &kept.files {
            if !path.exists() {
                write(path, bytes)?;
            }
        }
    }
    // Hashed files of any older release go.
    for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ours = name.starts_with(&format!("{current}."))
            || previous
                .as_ref()
                .is_some_and(|p| name.starts_with(&format!("{p}.")));
        if is_hashed(name) && !ours {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let manifest = AssetManifest {
        stem: current.clone(),
        previous: previous.clone(),
    };
    write(
        &dir.join(MANIFEST_FILE),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!(
        "    {zone}: {current}.{{js,wasm,css}}{}; precompressed {:.1} KB → {:.1} KB (brotli)",
        previous
            .map(|p| format!(" (kept {p}.* of the release before)"))
            .unwrap_or_default(),
        raw as f64 / 1000.0,
        packed as f64 / 1000.0
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `.br` and `.gz` beside every compressible file under `root`
/// but the hashed copies; the raw and brotli bytes of the files it
/// compressed.
fn precompress(root: &Path) -> anyhow::Result<(u64, u64)> {
    let (mut raw, mut packed) = (0, 0);
    for entry in WalkDir::new(root).into_iter().filter_map(Result::ok) {
        let path = entry.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if !entry.file_type().is_file() || !compressible || size < MIN_COMPRESS_BYTES {
            continue;
        }
        if is_hashed(&path.file_name().unwrap_or_default().to_string_lossy()) {
            // A copy: compressed with its original (or kept with its
            // variants from the release before).
            continue;
        }
        let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let br = brotli(&bytes)?;
        raw += bytes.len() as u64;
        packed += br.len().min(bytes.len()) as u64;
        // A variant no smaller than the file would only cost bytes.
        for (variant, suffix) in [(br, "br"), (gzip(&bytes)?, "gz")] {
            if variant.len() < bytes.len() {
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".{suffix}"));
                write(Path::new(&name), &variant)?;
            }
        }
    }
    Ok((raw, packed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_variants_are_written_beside_compressible_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let text = "body { color: red }\n".repeat(200);
        fs::write(dir.path().join("app.css"), &text).unwrap();
        fs::write(dir.path().join("tiny.js"), "x").unwrap();
        fs::write(dir.path().join("photo.png"), &text).unwrap();
        let (raw, packed) = precompress(dir.path()).unwrap();
        assert_eq!(raw, text.len() as u64);
        assert!(packed < raw / 10);
        assert!(dir.path().join("app.css.br").is_file());
        assert!(dir.path().join("app.css.gz").is_file());
        assert!(!dir.path().join("tiny.js.br").exists(), "below 1 KiB");
        assert!(
            !dir.path().join("photo.png.br").exists(),
            "not compressible"
        );
    }
}
