//! A throwaway PostgreSQL server for tests, load runs and `start
//! --postgres`: Debian's binaries (installed when missing), a fresh data
//! directory under the system temp dir, a private port on 127.0.0.1, trust
//! authentication for one role. Stopped and deleted on drop.
//!
//! PostgreSQL refuses to run as root; as root, every server command runs
//! as Debian's `postgres` user through `runuser`.

use std::fs::{self, File};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, User};

use crate::project::step;
use crate::stack::local;

/// The role every URL of the throwaway server uses.
const ROLE: &str = "meridian";
/// The database the app set uses on it (tests create their own).
const DATABASE: &str = "meridian";
/// Where Debian puts each major version's server binaries.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// Debian's server binaries, installing the `postgresql` package when none
/// are present. An error that says why when that fails: every caller
/// promised a PostgreSQL run, so it cannot carry on without one.
pub fn binaries() -> anyhow::Result<PathBuf> {
    if let Some(bin) = find_binaries() {
        println!("    postgresql: {}", bin.display());
        return Ok(bin);
    }
    crate::tools::apt_install("PostgreSQL", &["postgresql"])
        .context("PostgreSQL is not installed and installing Debian's `postgresql` failed")?;
    find_binaries().with_context(|| {
        format!("the `postgresql` package was installed but {DEBIAN_ROOT}/*/bin has no initdb")
    })
}

/// The newest `/usr/lib/postgresql/<major>/bin` that has `initdb`.
fn find_binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(DEBIAN_ROOT)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A running throwaway server.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    server: Option<Child>,
    /// Run server commands as this user (when we are root).
    run_as: Option<User>,
}

impl Postgres {
    /// Creates a cluster under the temp dir (`purpose` names it) and starts
    /// it on `port`, with the app set's database created.
    pub fn start(bin: &Path, purpose: &str, port: u16) -> anyhow::Result<Self> {
        step(&format!(
            "Starting PostgreSQL for {purpose} (127.0.0.1:{port})"
        ));
        let run_as = if nix::unistd::geteuid().is_root() {
            Some(
                User::from_name("postgres")
                    .ok()
                    .flatten()
                    .context("running as root, but there is no `postgres` user to run PostgreSQL as (Debian's package creates it)")?,
            )
        } else {
            None
        };
        let dir =
            std::env::temp_dir().join(format!("meridian-pg-{purpose}-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(&dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .with_context(|| format!("cannot hand {} to postgres", dir.display()))?;
        }
        let mut postgres = Self {
            bin: bin.to_owned(),
            dir,
            port,
            server: None,
            run_as,
        };
        let initdb = postgres
            .command("initdb")
            .args(["--username", ROLE, "--auth", "trust", "--encoding", "UTF8"])
            .args(["--no-sync", "--pgdata"])
            .arg(postgres.data_dir())
            .stdout(Stdio::null())
            .output()
            .context("cannot run initdb")?;
        if !initdb.status.success() {
            bail!(
                "initdb failed ({}): {}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stderr)
            );
        }
        postgres.resume()?;
        postgres.psql(&format!("CREATE DATABASE {DATABASE}"))?;
        Ok(postgres)
    }

    /// The app set's database (`postgres://meridian@127.0.0.1:<port>/meridian`).
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The maintenance database, for creating more (tests do).
    pub fn admin_url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Starts the server on the existing cluster and waits until it
    /// accepts connections.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log())
            .with_context(|| format!("cannot open {}", self.log().display()))?;
        let mut server = self.command("postgres");
        server
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "max_connections=300"])
            // Throwaway data: durability buys nothing here but slowness.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        self.server = Some(server.spawn().context("cannot start postgres")?);
        self.wait_ready(Duration::from_secs(30))
    }

    /// Stops the server (fast shutdown: open sessions are cut), keeping
    /// the data, as a restart or an outage would.
    pub fn pause(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(server.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(server.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.kill();
        let _ = server.wait();
    }

    fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let ready = TcpStream::connect_timeout(&local(self.port), Duration::from_millis(200))
                .is_ok()
                && self
                    .command("pg_isready")
                    .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                    .status()
                    .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if let Some(server) = &mut self.server
                && let Ok(Some(status)) = server.try_wait()
            {
                self.server = None;
                bail!(
                    "postgres exited at start ({status}); see {}",
                    self.log().display()
                );
            }
            if started.elapsed() > limit {
                bail!(
                    "postgres is not accepting connections after {limit:?}; see {}",
                    self.log().display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs one SQL statement as the role, on the maintenance database.
    fn psql(&self, sql: &str) -> anyhow::Result<()> {
        let out = self
            .command("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                ROLE,
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .output()
            .context("cannot run psql")?;
        if !out.status.success() {
            bail!(
                "psql `{sql}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `tool` from the server binaries, as the postgres user when root.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut runuser = Command::new("runuser");
                runuser.args(["-u", &user.name, "--"]).arg(program);
                runuser
            }
            None => Command::new(program),
        };
        command.current_dir(&self.dir);
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pause();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
