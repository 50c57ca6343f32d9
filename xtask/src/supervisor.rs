//! Runs several long-lived child processes, forwards their output line by
//! line, and stops all of them (process group and all) on Ctrl-C, on
//! SIGTERM, when one of them exits, or when dropped.
//!
//! Process groups take two calls and no code of our own: std's
//! `CommandExt::process_group(0)` starts each child as the leader of its
//! own group, and nix's `killpg` signals that group (the child and
//! whatever it started). A wrapper such as `process-wrap` would own the
//! child handle, which here belongs to the thread that waits for the
//! child's exit while this one signals it; it would add a lock around the
//! handle and replace nothing, so nix stays.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, IsTerminal as _, Read, Write as _};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::probe::Probe;
use crate::project::elapsed;

/// Where a child's output goes.
pub enum Sink {
    /// The terminal, each line prefixed with the child's name.
    Terminal,
    /// A log file (truncated first), the child's stdout and stderr.
    File(PathBuf),
}

pub enum Event {
    Exited {
        name: String,
        status: Option<ExitStatus>,
    },
    Interrupted,
}

pub struct Supervisor {
    /// Process group of each child still running.
    running: BTreeMap<String, Pid>,
    /// Log file of each child whose output goes to a file.
    logs: BTreeMap<String, PathBuf>,
    events: Receiver<Event>,
    sender: Sender<Event>,
    width: usize,
}

/// Ctrl-C / SIGTERM reach us through this channel (the handler is global).
static INTERRUPTS: OnceLock<Mutex<Option<Sender<Event>>>> = OnceLock::new();

impl Supervisor {
    pub fn new() -> anyhow::Result<Self> {
        let (sender, events) = mpsc::channel();
        let slot = INTERRUPTS.get_or_init(|| Mutex::new(None));
        if let Ok(mut guard) = slot.lock() {
            let first = guard.is_none();
            *guard = Some(sender.clone());
            if first {
                ctrlc::set_handler(|| {
                    if let Some(Ok(guard)) = INTERRUPTS.get().map(Mutex::lock)
                        && let Some(sender) = guard.as_ref()
                    {
                        let _ = sender.send(Event::Interrupted);
                    }
                })
                .context("cannot install the Ctrl-C handler")?;
            }
        }
        Ok(Self {
            running: BTreeMap::new(),
            logs: BTreeMap::new(),
            events,
            sender,
            width: 8,
        })
    }

    /// Starts `command` as `name` in its own process group.
    pub fn spawn(&mut self, name: &str, mut command: Command, sink: Sink) -> anyhow::Result<()> {
        command.stdin(Stdio::null()).process_group(0);
        // A log file is the child's stdout and stderr itself: no pipe, no
        // copying thread here competing with the child for the CPU.
        let terminal = match sink {
            Sink::File(path) => {
                let file = File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                command.stdout(file.try_clone()?).stderr(file);
                self.logs.insert(name.to_owned(), path);
                false
            }
            Sink::Terminal => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                true
            }
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).context("pid out of range")?);
        self.width = self.width.max(name.len());
        if terminal {
            let writer = LineWriter::new(name, self.width);
            let stdout = child.stdout.take().context("child stdout")?;
            let stderr = child.stderr.take().context("child stderr")?;
            forward(stdout, writer.clone());
            forward(stderr, writer);
        }
        let sender = self.sender.clone();
        let owned = name.to_owned();
        thread::spawn(move || {
            let status = child.wait().ok();
            let _ = sender.send(Event::Exited {
                name: owned,
                status,
            });
        });
        self.running.insert(name.to_owned(), pid);
        Ok(())
    }

    /// Waits for the next event (a child exited, or the user interrupted).
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Option<Event> {
        let event = match timeout {
            Some(t) => match self.events.recv_timeout(t) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            },
            None => self.events.recv().ok()?,
        };
        if let Event::Exited { name, .. } = &event {
            self.running.remove(name);
        }
        Some(event)
    }

    /// Polls `GET path` for each `(name, addr, path)`, in order, until each
    /// answers below 500 (a check is only tried once those before it pass,
    /// so list the zones before the routes through the edge). Prints
    /// progress every 30 s; fails if a child exits, the user interrupts, or
    /// `limit` passes.
    pub fn wait_ready(
        &mut self,
        checks: &[(String, SocketAddr, String)],
        limit: Duration,
    ) -> anyhow::Result<()> {
        let probe = Probe::new()?;
        let started = Instant::now();
        let mut last_report = Instant::now();
        let mut next = 0;
        while next < checks.len() {
            let (name, addr, path) = &checks[next];
            if probe.status(*addr, path).is_some_and(|status| status < 500) {
                next += 1;
                continue;
            }
            if started.elapsed() > limit {
                bail!(
                    "{name} is still not answering {path} after {}",
                    elapsed(started)
                );
            }
            if last_report.elapsed() > Duration::from_secs(30) {
                println!("    … waiting for {name} ({})", elapsed(started));
                last_report = Instant::now();
            }
            match self.next_event(Some(Duration::from_millis(500))) {
                None => {}
                Some(Event::Interrupted) => bail!("interrupted"),
                Some(Event::Exited { name, status }) => bail!(
                    "{name} exited before it was ready ({}){}",
                    describe(status),
                    self.log_hint(&name)
                ),
            }
        }
        Ok(())
    }

    /// Blocks until the user interrupts (Ok) or a child exits (an error
    /// naming it); the caller's drop then stops the rest.
    pub fn run_until_stopped(&mut self) -> anyhow::Result<()> {
        match self.next_event(None) {
            Some(Event::Exited { name, status }) => {
                bail!(
                    "{name} stopped ({}); stopping the rest{}",
                    describe(status),
                    self.log_hint(&name)
                )
            }
            Some(Event::Interrupted) | None => {
                println!("\n    Stopping…");
                Ok(())
            }
        }
    }

    /// Kills child `name` (SIGKILL to its process group, as a crash or an
    /// OOM kill would) and waits until it is gone. Any other child exiting
    /// meanwhile is an error.
    pub fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let pgid = *self
            .running
            .get(name)
            .with_context(|| format!("{name} is not running"))?;
        let _ = killpg(pgid, Signal::SIGKILL);
        match self.next_event(Some(Duration::from_secs(10))) {
            Some(Event::Exited { name: gone, .. }) if gone == name => Ok(()),
            Some(Event::Exited {
                name: other,
                status,
            }) => bail!(
                "{other} exited unexpectedly ({}){}",
                describe(status),
                self.log_hint(&other)
            ),
            Some(Event::Interrupted) => bail!("interrupted"),
            None => bail!("{name} did not exit after SIGKILL"),
        }
    }

    /// The process id of child `name` (it leads its own process group).
    pub fn pid(&self, name: &str) -> Option<Pid> {
        self.running.get(name).copied()
    }

    /// Whether child `name` is still running (as far as events have told).
    pub fn is_running(&mut self, name: &str) -> bool {
        while let Ok(event) = self.events.try_recv() {
            if let Event::Exited { name, .. } = &event {
                self.running.remove(name);
            }
        }
        self.running.contains_key(name)
    }

    /// Stops every child still running: SIGTERM to its process group, then
    /// SIGKILL after 10 s.
    pub fn shutdown(&mut self) {
        if self.running.is_empty() {
            return;
        }
        for pgid in self.running.values() {
            let _ = killpg(*pgid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.running.is_empty() && Instant::now() < deadline {
            let _ = self.next_event(Some(Duration::from_millis(200)));
        }
        for (name, pgid) in std::mem::take(&mut self.running) {
            eprintln!("    {name} did not stop within 10s; killing it");
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }

    /// "; see <log file>" for a child whose output went to a file.
    pub fn log_hint(&self, name: &str) -> String {
        self.logs
            .get(name)
            .map(|path| format!("; see {}", path.display()))
            .unwrap_or_default()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn describe(status: Option<ExitStatus>) -> String {
    status.map_or_else(|| "status unknown".to_owned(), |s| s.to_string())
}

/// Writes whole lines of one child to the terminal, prefixed with its name.
#[derive(Clone)]
struct LineWriter {
    prefix: Arc<str>,
}

impl LineWriter {
    fn new(name: &str, width: usize) -> Self {
        let colour = 31 + (name.bytes().map(u32::from).sum::<u32>() % 6);
        let prefix = if std::io::stdout().is_terminal() {
            format!("\x1b[{colour}m{name:>width$} │\x1b[0m ")
        } else {
            format!("{name:>width$} │ ")
        };
        Self {
            prefix: prefix.into(),
        }
    }

    fn line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}{line}", self.prefix);
    }
}

fn forward(stream: impl Read + Send + 'static, writer: LineWriter) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    writer.line(line.trim_end_matches(['\n', '\r']));
                }
            }
        }
    });
}
