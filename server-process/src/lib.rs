//! Process plumbing shared by every server binary (the zones, the edge and
//! the mock provider): logging and the shutdown signal. It knows nothing of
//! sessions or zones.

mod batched_stdout;

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing_subscriber::EnvFilter;

use batched_stdout::{BatchedStdout, Flusher};

/// Keeps the log flusher going; lines logged before it drops are written
/// out. Hold it until the process ends.
#[must_use = "log lines are lost unless the guard lives until the process ends"]
pub struct LogGuard {
    _flusher: Flusher,
}

/// Installs the global `tracing` subscriber with `filter`
/// (`tracing_subscriber::EnvFilter` syntax; an invalid filter falls back to
/// `info` with a warning).
///
/// Lines go to stdout in batches, at most 5 ms late (see
/// `batched_stdout`): the edge logs one per request, and one `write` per
/// line was a measurable share of its CPU. Nothing is dropped.
pub fn init_tracing(filter: &str) -> LogGuard {
    let (filter, invalid) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(err) => (EnvFilter::new("info"), Some(err)),
    };
    let (writer, flusher) = BatchedStdout::start();
    let _ = WRITER.set(writer.clone());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(writer)
        .init();
    if let Some(err) = invalid {
        tracing::warn!("invalid log filter, using `info`: {err}");
    }
    LogGuard { _flusher: flusher }
}

/// The writer `init_tracing` installed, for [`info_line`].
static WRITER: OnceLock<BatchedStdout> = OnceLock::new();

thread_local! {
    /// The line being written, and the timestamp's text up to the second
    /// (`2026-11-30T10:07:17.`) for the second it names: both reused.
    static INFO_LINE: RefCell<(String, u64, String)> =
        RefCell::new((String::with_capacity(256), u64::MAX, String::new()));
    /// A reading of both clocks, for turning an `Instant` into wall time
    /// (see [`wall_time`]).
    static CLOCKS: RefCell<Option<(Instant, Duration)>> = const { RefCell::new(None) };
}

/// How long one reading of the wall clock serves [`wall_time`].
const WALL_CLOCK_REUSE: Duration = Duration::from_secs(1);

/// The wall time (since the Unix epoch) at `at`, from this thread's last
/// reading of both clocks, taken again when it is [`WALL_CLOCK_REUSE`]
/// old: one wall-clock read a second instead of one a line. Between
/// readings the two clocks run at the same rate; a step of the wall clock
/// shows in the log up to a second late.
fn wall_time(at: Instant) -> Duration {
    CLOCKS.with_borrow_mut(|clocks| {
        let (instant, wall) = match *clocks {
            Some((instant, wall))
                if at.saturating_duration_since(instant) < WALL_CLOCK_REUSE
                    && instant.saturating_duration_since(at) < WALL_CLOCK_REUSE =>
            {
                (instant, wall)
            }
            _ => {
                let wall = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let instant = Instant::now();
                *clocks = Some((instant, wall));
                (instant, wall)
            }
        };
        if at >= instant {
            wall + (at - instant)
        } else {
            wall.saturating_sub(instant - at)
        }
    })
}

/// Writes `message` as an `INFO` line that reads like `tracing`'s (the same
/// timestamp and level, the same batched writer) without `tracing`'s
/// per-event formatting: for the edge's access log, a line per request,
/// where that formatting was a tenth of a proxied request's CPU. The
/// caller checks that `INFO` is enabled for it and that `message` is one
/// line of escaped text. Before [`init_tracing`] (in tests) the message
/// goes through `tracing`.
pub fn info_line(message: &str) {
    info_line_at(message, Instant::now());
}

/// [`info_line`] for a line timed `at`, a reading of the clock the caller
/// made anyway (the edge times each request with it): the wall time is
/// derived from it rather than read again.
pub fn info_line_at(message: &str, at: Instant) {
    info_line_with(at, |line| line.push_str(message));
}

/// [`info_line_at`] with the message written by `message` straight into
/// the line being made (no buffer of the caller's copied into it). It must
/// not log itself.
pub fn info_line_with(at: Instant, message: impl FnOnce(&mut String)) {
    let Some(writer) = WRITER.get() else {
        let mut text = String::new();
        message(&mut text);
        tracing::info!("{text}");
        return;
    };
    let now = wall_time(at);
    INFO_LINE.with_borrow_mut(|(line, second, prefix)| {
        if *second != now.as_secs() {
            *second = now.as_secs();
            *prefix = second_prefix(now.as_secs());
        }
        line.clear();
        line.push_str(prefix);
        // Six digits of microseconds, without `fmt` (a line per request).
        let mut micros = now.subsec_micros();
        let mut digits = [b'0'; 6];
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (micros % 10) as u8;
            micros /= 10;
        }
        line.push_str(std::str::from_utf8(&digits).unwrap_or("000000"));
        line.push_str("Z  INFO ");
        message(line);
        line.push('\n');
        let _ = writer.line().write_all(line.as_bytes());
    });
}

/// `YYYY-MM-DDTHH:MM:SS.` (UTC) of `unix_seconds`.
fn second_prefix(unix_seconds: u64) -> String {
    let at = i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = String::with_capacity(21);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    text
}

/// Resolves on Ctrl-C or SIGTERM, whichever comes first: the cue for a
/// server to stop accepting and finish what is in flight.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_like_tracing_s() {
        assert_eq!(second_prefix(0), "1970-01-01T00:00:00.");
        // 2026-11-30T10:07:17Z
        assert_eq!(second_prefix(1_796_033_237), "2026-11-30T10:07:17.");
    }

    fn wall_now() -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// `a` and `b` within 50 ms of each other (a loaded machine may pause
    /// the test between two readings).
    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_millis(50)
    }

    #[test]
    fn wall_time_follows_the_instant_it_is_given() {
        let before = wall_now();
        let now = Instant::now();
        let wall = wall_time(now);
        assert!(close(wall, before), "{wall:?} vs {before:?}");
        // From the same reading of both clocks: earlier and later instants
        // map to earlier and later wall times, by as much.
        let earlier = now.checked_sub(Duration::from_millis(300)).unwrap_or(now);
        assert_eq!(wall - wall_time(earlier), now - earlier);
        let later = now + Duration::from_millis(200);
        assert_eq!(wall_time(later) - wall, Duration::from_millis(200));
        // Past the reuse, both clocks are read again: still the wall time.
        std::thread::sleep(WALL_CLOCK_REUSE + Duration::from_millis(20));
        let at = Instant::now();
        let wall = wall_time(at);
        assert!(close(wall, wall_now()), "{wall:?}");
    }
}
