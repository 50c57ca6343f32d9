//! Runs several long-lived child processes, forwards their output line by
//! line, and stops all of them (process group and all) on Ctrl-C, on
//! SIGTERM, or when dropped. A child started with
//! [`Supervisor::spawn_restartable`] that exits is started again after a
//! backoff (0.5 s, doubling, at most 30 s), as systemd or Kubernetes would,
//! while the others keep running; after [`MAX_QUICK_RESTARTS`] exits each
//! within [`STABLE_AFTER`] of its start it is given up (and said so). Any
//! other child exiting stops everything.
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
#[derive(Clone, Debug)]
pub enum Sink {
    /// The terminal, each line prefixed with the child's name.
    Terminal,
    /// The terminal, and each line (stdout and stderr) to an observer too.
    Observed(Observer),
    /// A log file (truncated first), the child's stdout and stderr.
    File(PathBuf),
}

/// Reads a child's output lines as they are printed (e.g. build progress).
#[derive(Clone)]
pub struct Observer(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

pub enum Event {
    Exited {
        name: String,
        status: Option<ExitStatus>,
    },
    Interrupted,
}

/// How a restartable child is started again.
pub type Recipe = Box<dyn Fn() -> anyhow::Result<Command>>;

/// The first restart's delay; each quick exit doubles it.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// The longest delay between restarts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long before exiting was up: its backoff starts over.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// Quick exits in a row (each within [`STABLE_AFTER`] of a start) before a
/// child is given up.
pub const MAX_QUICK_RESTARTS: u32 = 6;

/// A restartable child: how to start it and how its restarts went.
struct Restart {
    recipe: Recipe,
    sink: Sink,
    started: Instant,
    quick_exits: u32,
    /// When it is to be started again (it has exited).
    due: Option<Instant>,
}

pub struct Supervisor {
    /// Process group of each child still running.
    running: BTreeMap<String, Pid>,
    /// The children that are started again when they exit.
    restarts: BTreeMap<String, Restart>,
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
            restarts: BTreeMap::new(),
            logs: BTreeMap::new(),
            events,
            sender,
            width: 8,
        })
    }

    /// Starts `command` as `name` in its own process group.
    pub fn spawn(&mut self, name: &str, command: Command, sink: Sink) -> anyhow::Result<()> {
        self.start(name, command, sink, false)
    }

    /// Starts `recipe()` as `name`, and again whenever it exits (see the
    /// module documentation), until [`Self::supervise`] returns.
    pub fn spawn_restartable(
        &mut self,
        name: &str,
        recipe: Recipe,
        sink: Sink,
    ) -> anyhow::Result<()> {
        let command = recipe()?;
        self.start(name, command, sink.clone(), false)?;
        self.make_restartable(name, recipe, sink)
    }

    /// From now on, child `name` (already running) is started again by
    /// `recipe` whenever it exits.
    pub fn make_restartable(
        &mut self,
        name: &str,
        recipe: Recipe,
        sink: Sink,
    ) -> anyhow::Result<()> {
        if !self.running.contains_key(name) {
            bail!("{name} is not running");
        }
        self.restarts.insert(
            name.to_owned(),
            Restart {
                recipe,
                sink,
                started: Instant::now(),
                quick_exits: 0,
                due: None,
            },
        );
        Ok(())
    }

    /// Child `name` is no longer restarted when it exits.
    pub fn forget_restart(&mut self, name: &str) {
        self.restarts.remove(name);
    }

    /// Starts `command` as `name`; a log file is truncated unless
    /// `append` (a restart keeps what the crash left).
    fn start(
        &mut self,
        name: &str,
        mut command: Command,
        sink: Sink,
        append: bool,
    ) -> anyhow::Result<()> {
        command.stdin(Stdio::null()).process_group(0);
        // A log file is the child's stdout and stderr itself: no pipe, no
        // copying thread here competing with the child for the CPU.
        let terminal = match sink {
            Sink::File(path) => {
                let file = File::options()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                command.stdout(file.try_clone()?).stderr(file);
                self.logs.insert(name.to_owned(), path);
                None
            }
            Sink::Terminal => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                Some(None)
            }
            Sink::Observed(observer) => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                Some(Some(observer))
            }
        };
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).context("pid out of range")?);
        self.width = self.width.max(name.len());
        if let Some(observer) = terminal {
            let writer = LineWriter::new(name, self.width, observer);
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
    /// progress every 30 s; fails if a child exits (a restartable one: once
    /// it is given up), the user interrupts, or `limit` passes.
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
            self.restart_due();
            match self.next_event(Some(Duration::from_millis(500))) {
                None => {}
                Some(Event::Interrupted) => bail!("interrupted"),
                Some(Event::Exited { name, status }) if self.restarts.contains_key(&name) => {
                    self.schedule_restart(&name, status);
                    if !self.restarts.contains_key(&name) {
                        bail!("{name} kept exiting before it was ready");
                    }
                }
                Some(Event::Exited { name, status }) => bail!(
                    "{name} exited before it was ready ({}){}",
                    describe(status),
                    self.log_hint(&name)
                ),
            }
        }
        Ok(())
    }

    /// Blocks until the user interrupts (Ok) or a child that is not
    /// restartable exits (an error naming it; the caller's drop then stops
    /// the rest); restartable children are started again meanwhile.
    pub fn run_until_stopped(&mut self) -> anyhow::Result<()> {
        self.supervise(None)?;
        println!("\n    Stopping…");
        Ok(())
    }

    /// Watches the children until `until` (or, without one, until the user
    /// interrupts): a restartable child that exits is started again after
    /// its backoff; any other child exiting is an error.
    pub fn supervise(&mut self, until: Option<Instant>) -> anyhow::Result<()> {
        loop {
            self.restart_due();
            let now = Instant::now();
            if until.is_some_and(|until| until <= now) {
                return Ok(());
            }
            let next_due = self.restarts.values().filter_map(|r| r.due).min();
            let wake = [next_due, until].into_iter().flatten().min();
            let timeout = wake.map(|at| at.saturating_duration_since(now));
            match self.next_event(timeout) {
                None => {}
                Some(Event::Interrupted) => return Ok(()),
                Some(Event::Exited { name, status }) => {
                    if !self.restarts.contains_key(&name) {
                        bail!(
                            "{name} stopped ({}); stopping the rest{}",
                            describe(status),
                            self.log_hint(&name)
                        );
                    }
                    self.schedule_restart(&name, status);
                }
            }
        }
    }

    /// Starts again every restartable child whose backoff is over.
    fn restart_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = (self.restarts.iter())
            .filter(|(_, r)| r.due.is_some_and(|due| due <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            self.restart(&name);
        }
    }

    /// `name` exited: plans its restart after its backoff, or gives it up
    /// after too many quick exits.
    fn schedule_restart(&mut self, name: &str, status: Option<ExitStatus>) {
        let hint = self.log_hint(name);
        let Some(restart) = self.restarts.get_mut(name) else {
            return;
        };
        if restart.started.elapsed() >= STABLE_AFTER {
            restart.quick_exits = 0;
        }
        if restart.quick_exits >= MAX_QUICK_RESTARTS {
            eprintln!(
                "    {name} exited ({}) {} times in a row soon after starting; giving up on it{hint} (the rest keeps running)",
                describe(status),
                restart.quick_exits + 1,
            );
            self.restarts.remove(name);
            return;
        }
        let delay = BACKOFF_START
            .saturating_mul(2u32.saturating_pow(restart.quick_exits))
            .min(BACKOFF_MAX);
        restart.quick_exits += 1;
        restart.due = Some(Instant::now() + delay);
        eprintln!(
            "    {name} exited ({}){hint}; restarting it in {:.1}s (restart {})",
            describe(status),
            delay.as_secs_f64(),
            restart.quick_exits
        );
    }

    /// Starts `name` again now; a failure to start counts as an exit.
    fn restart(&mut self, name: &str) {
        let Some(restart) = self.restarts.get_mut(name) else {
            return;
        };
        restart.due = None;
        restart.started = Instant::now();
        let sink = restart.sink.clone();
        let started = (restart.recipe)().and_then(|command| self.start(name, command, sink, true));
        match started {
            Ok(()) => println!("    {name} restarted"),
            Err(err) => {
                eprintln!("    cannot restart {name}: {err:#}");
                self.schedule_restart(name, None);
            }
        }
    }

    /// Sends SIGKILL to child `name`'s process group, as a crash or an OOM
    /// kill would, without waiting (see [`Self::supervise`]).
    pub fn crash(&self, name: &str) -> anyhow::Result<()> {
        let pgid = *self
            .running
            .get(name)
            .with_context(|| format!("{name} is not running"))?;
        killpg(pgid, Signal::SIGKILL).with_context(|| format!("cannot kill {name}"))
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
        self.restarts.clear();
        if self.running.is_empty() {
            return;
        }
        for pgid in self.running.values() {
            let _ = killpg(*pgid, Signal::SIGTERM);
            // A process paused with SIGSTOP (dev's rebuild ordering) acts
            // on SIGTERM only once continued.
            let _ = killpg(*pgid, Signal::SIGCONT);
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

/// Writes whole lines of one child to the terminal, prefixed with its
/// name, and hands them to its observer if it has one.
#[derive(Clone)]
struct LineWriter {
    prefix: Arc<str>,
    observer: Option<Observer>,
}

impl LineWriter {
    fn new(name: &str, width: usize, observer: Option<Observer>) -> Self {
        let colour = 31 + (name.bytes().map(u32::from).sum::<u32>() % 6);
        let prefix = if std::io::stdout().is_terminal() {
            format!("\x1b[{colour}m{name:>width$} │\x1b[0m ")
        } else {
            format!("{name:>width$} │ ")
        };
        Self {
            prefix: prefix.into(),
            observer,
        }
    }

    fn line(&self, line: &str) {
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}{line}", self.prefix);
        }
        if let Some(Observer(observe)) = &self.observer {
            observe(line);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &'static str) -> Recipe {
        Box::new(move || {
            let mut command = Command::new("sh");
            command.args(["-c", script]);
            Ok(command)
        })
    }

    #[test]
    fn a_killed_child_is_started_again_and_the_others_keep_running() {
        let mut supervisor = Supervisor::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("worker.log");
        supervisor
            .spawn_restartable(
                "worker",
                shell("echo started; exec sleep 30"),
                Sink::File(log.clone()),
            )
            .unwrap();
        supervisor
            .spawn(
                "bystander",
                shell_command("exec sleep 30"),
                Sink::File(dir.path().join("b.log")),
            )
            .unwrap();
        let first = supervisor.pid("worker").unwrap();
        while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("started")) {
            thread::sleep(Duration::from_millis(10));
        }
        supervisor.crash("worker").unwrap();
        supervisor
            .supervise(Some(Instant::now() + Duration::from_secs(2)))
            .unwrap();
        let second = supervisor.pid("worker").expect("started again");
        assert_ne!(first, second);
        assert!(supervisor.is_running("bystander"));
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text.matches("started").count(),
            2,
            "the log is kept: {text}"
        );
    }

    #[test]
    fn a_child_that_keeps_crashing_at_start_is_given_up() {
        let mut supervisor = Supervisor::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        supervisor
            .spawn_restartable(
                "crasher",
                shell("exit 3"),
                Sink::File(dir.path().join("c.log")),
            )
            .unwrap();
        supervisor
            .spawn(
                "bystander",
                shell_command("exec sleep 60"),
                Sink::File(dir.path().join("b.log")),
            )
            .unwrap();
        // 0.5 + 1 + 2 + 4 + 8 + 16 s of backoff would be 31.5 s; the
        // schedule is what is checked here, over the first restarts.
        let until = Instant::now() + Duration::from_secs(4);
        supervisor.supervise(Some(until)).unwrap();
        let restart = supervisor
            .restarts
            .get("crasher")
            .expect("not given up yet");
        assert!(
            restart.quick_exits >= 3,
            "{} quick exits",
            restart.quick_exits
        );
        assert!(supervisor.is_running("bystander"));
        // Past the limit it is given up, and nothing else stops.
        supervisor.restarts.get_mut("crasher").unwrap().quick_exits = MAX_QUICK_RESTARTS;
        supervisor.restarts.get_mut("crasher").unwrap().due = Some(Instant::now());
        supervisor
            .supervise(Some(Instant::now() + Duration::from_secs(1)))
            .unwrap();
        assert!(!supervisor.restarts.contains_key("crasher"));
        assert!(supervisor.is_running("bystander"));
    }

    #[test]
    fn a_child_that_is_not_restartable_stops_the_watch() {
        let mut supervisor = Supervisor::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        supervisor
            .spawn(
                "one-shot",
                shell_command("exit 0"),
                Sink::File(dir.path().join("o.log")),
            )
            .unwrap();
        let err = supervisor
            .supervise(Some(Instant::now() + Duration::from_secs(5)))
            .unwrap_err();
        assert!(err.to_string().contains("one-shot stopped"), "{err}");
    }

    fn shell_command(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }
}
