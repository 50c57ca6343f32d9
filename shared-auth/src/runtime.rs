//! Process plumbing shared by every server binary (the zones and the edge).

use std::io::{BufWriter, IsTerminal as _};

use tracing_subscriber::EnvFilter;

/// Keeps the log writer thread going: lines logged before it drops are
/// written out. Hold it until the process ends.
#[must_use = "log lines are lost unless the guard lives until the process ends"]
pub struct LogGuard {
    _writer: tracing_appender::non_blocking::WorkerGuard,
}

/// Installs the global `tracing` subscriber with `filter`
/// (`tracing_subscriber::EnvFilter` syntax; an invalid filter falls back to
/// `info` with a warning).
///
/// Lines go to stdout through a writer thread: a request never waits for
/// its log line to be written (the edge logs one per request), and lines
/// logged in a burst leave in one `write`. Nothing is dropped: when the
/// writer falls far behind, logging waits for it.
pub fn init_tracing(filter: &str) -> LogGuard {
    let (filter, invalid) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(err) => (EnvFilter::new("info"), Some(err)),
    };
    let stdout = std::io::stdout();
    let ansi = stdout.is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(64 * 1024, stdout));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer)
        .init();
    if let Some(err) = invalid {
        tracing::warn!("invalid log filter, using `info`: {err}");
    }
    LogGuard { _writer: guard }
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
