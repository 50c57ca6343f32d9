//! Installs the build and test tools the project needs, once, pinned, and
//! skips whatever is already present. Only crates.io, npm and Debian
//! packages are reachable, so Rust tools are built from their crates.io
//! source (with the known lockfile fixes for rustc 1.95).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::project::{Project, cache_dir, cargo, run_step, step};

/// cargo-leptos, built with `no_downloads` (it must not fetch binaries).
const CARGO_LEPTOS_VERSION: &str = "0.3.11";
/// The Debian Chromium the Playwright tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Which optional tools a command needs.
#[derive(Clone, Copy, Default)]
pub struct Need {
    /// Chromium for the end-to-end tests.
    pub browser: bool,
}

/// Installs whatever is missing. Prints one line per tool that is present.
pub fn ensure(project: &Project, need: Need) -> anyhow::Result<()> {
    step("Checking tools");
    wasm_target()?;
    wasm_bindgen(project)?;
    cargo_leptos()?;
    npm_packages(project)?;
    if need.browser {
        chromium()?;
    }
    Ok(())
}

fn wasm_target() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("cannot run rustup: this project needs a rustup-managed Rust toolchain")?;
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        println!("    wasm32-unknown-unknown target: present");
        return Ok(());
    }
    run_step(
        "Adding the wasm32-unknown-unknown target (under a minute)",
        Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
        "Check that rustup can reach its distribution server.",
    )
}

/// The wasm-bindgen CLI must equal the `wasm-bindgen` crate in Cargo.lock
/// exactly: cargo-leptos runs it on every build.
fn wasm_bindgen(project: &Project) -> anyhow::Result<()> {
    let lock = fs::read_to_string(project.root.join("Cargo.lock"))
        .context("cannot read Cargo.lock (it is committed; is this a full checkout?)")?;
    let version =
        locked_version(&lock, "wasm-bindgen").context("Cargo.lock does not pin wasm-bindgen")?;
    let current = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if current.split_whitespace().nth(1) == Some(version.as_str()) {
        println!("    wasm-bindgen CLI {version}: present");
        return Ok(());
    }
    // 0.2.130's lockfile names a webpki-roots release that is not on crates.io.
    install_from_source(
        "wasm-bindgen-cli",
        &version,
        &[("webpki-roots", "1.0.10")],
        &[],
        "about 5 minutes on 2 cores",
    )
}

fn cargo_leptos() -> anyhow::Result<()> {
    let current = output(Command::new("cargo-leptos").arg("--version")).unwrap_or_default();
    if current.split_whitespace().nth(1) == Some(CARGO_LEPTOS_VERSION) {
        println!("    cargo-leptos {CARGO_LEPTOS_VERSION}: present");
        return Ok(());
    }
    // Its locked cargo-util-schemas 0.14.2 needs rustc 1.96.
    install_from_source(
        "cargo-leptos",
        CARGO_LEPTOS_VERSION,
        &[("cargo-util-schemas", "0.14.1")],
        &["no_downloads"],
        "about 12 minutes on 2 cores",
    )
}

/// Builds `krate` `version` from its crates.io source into ~/.cargo/bin,
/// after pinning `fixes` (package, version) in its lockfile.
fn install_from_source(
    krate: &str,
    version: &str,
    fixes: &[(&str, &str)],
    features: &[&str],
    takes: &str,
) -> anyhow::Result<()> {
    let sources = cache_dir().join("src");
    fs::create_dir_all(&sources).with_context(|| format!("cannot create {}", sources.display()))?;
    let archive = sources.join(format!("{krate}-{version}.crate"));
    let source = sources.join(format!("{krate}-{version}"));
    if !archive.is_file() {
        let partial = archive.with_extension("part");
        let url = format!("https://static.crates.io/crates/{krate}/{krate}-{version}.crate");
        run_step(
            &format!("Downloading {krate} {version} source"),
            Command::new("curl")
                .args(["-sSfL", "--retry", "3", "-o"])
                .arg(&partial)
                .arg(&url),
            "Check that static.crates.io is reachable.",
        )?;
        fs::rename(&partial, &archive)?;
    }
    if source.exists() {
        fs::remove_dir_all(&source)?;
    }
    run_step(
        &format!("Unpacking {krate} {version}"),
        Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&sources),
        "The download may be corrupt; delete it and retry.",
    )?;
    for (package, precise) in fixes {
        run_step(
            &format!("Pinning {package} {precise} in {krate}'s lockfile"),
            Command::new(cargo()).current_dir(&source).args([
                "update",
                "--package",
                package,
                "--precise",
                precise,
            ]),
            "Check that crates.io is reachable.",
        )?;
    }
    let mut install = Command::new(cargo());
    install
        .current_dir(&source)
        .args(["install", "--path", ".", "--locked", "--force"])
        // A private, persistent target dir: an interrupted install resumes.
        .env("CARGO_TARGET_DIR", cache_dir().join("tool-target"))
        // Thin LTO and parallel codegen: the fat-LTO link alone takes ~10 min
        // on two cores, for no difference that matters in a build tool.
        .env("CARGO_PROFILE_RELEASE_LTO", "thin")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16");
    if !features.is_empty() {
        install.arg("--features").arg(features.join(","));
    }
    run_step(
        &format!("Installing {krate} {version} from source (once per machine, {takes})"),
        &mut install,
        "See the compiler output above.",
    )
}

/// `npm ci` when node_modules does not match package-lock.json. Brings
/// binaryen's wasm-opt (Debian's corrupts wasm-bindgen output) and Playwright.
fn npm_packages(project: &Project) -> anyhow::Result<()> {
    let lock = project.root.join("package-lock.json");
    let stamp = project
        .root
        .join("node_modules")
        .join(".xtask-package-lock.json");
    let wanted = fs::read(&lock).context("cannot read package-lock.json")?;
    if fs::read(&stamp).is_ok_and(|installed| installed == wanted)
        && project.root.join("node_modules/.bin/wasm-opt").exists()
    {
        println!("    npm packages: present");
        return Ok(());
    }
    run_step(
        "Installing npm packages (binaryen for wasm-opt, Playwright; about a minute)",
        project
            .command("npm")
            .args(["ci", "--no-audit", "--no-fund"]),
        "Check that Node.js 20+ and npm are installed and the npm registry is reachable.",
    )?;
    fs::write(&stamp, wanted).context("cannot write the npm stamp")?;
    Ok(())
}

/// Debian's Chromium (Playwright must not download its own browser).
fn chromium() -> anyhow::Result<()> {
    if Path::new(CHROMIUM).exists() {
        println!("    chromium: present");
        return Ok(());
    }
    apt_install("Chromium (1–2 minutes)", &["chromium"])?;
    if !Path::new(CHROMIUM).exists() {
        bail!("chromium was installed but {CHROMIUM} is missing");
    }
    Ok(())
}

/// Installs Debian `packages` (as root, or through sudo), after updating
/// the package lists. `what` names them in progress output and errors.
pub fn apt_install(what: &str, packages: &[&str]) -> anyhow::Result<()> {
    let root = nix::unistd::geteuid().is_root();
    let apt = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let hint = format!(
        "Install it by hand: apt-get install -y {}",
        packages.join(" ")
    );
    run_step(
        "Updating Debian package lists",
        &mut apt(&["update", "-q"]),
        &hint,
    )?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(packages);
    run_step(&format!("Installing {what}"), &mut install, &hint)
}

/// The version `Cargo.lock` pins for `package` (the first entry).
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}

/// Stdout of a command that succeeded.
fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command.output()?;
    if !out.status.success() {
        bail!("exited with {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `npx playwright test --config <config>` (a file under `end2end/`)
/// against the edge at `edge`, with the zone manifest the specs read and
/// Debian's Chromium.
pub fn playwright(project: &Project, config: &str, edge: &str, manifest: &Path) -> Command {
    let mut command = project.command("npx");
    command
        .args(["playwright", "test", "--config"])
        .arg(Path::new("end2end").join(config))
        .env("E2E_BASE_URL", edge)
        .env(crate::manifest::PATH_VAR, manifest)
        .env("CHROMIUM_PATH", CHROMIUM);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "leptos"), None);
    }
}
