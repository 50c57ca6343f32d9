//! Process plumbing shared by every server binary (the zones, the edge and
//! the mock provider): logging and the shutdown signal. It knows nothing of
//! sessions or zones.

mod batched_stdout;

use std::io::IsTerminal as _;

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
/// Lines go to stdout in batches, at most 25 ms late (see
/// `batched_stdout`): the edge logs one per request, and one `write` per
/// line was a measurable share of its CPU. Nothing is dropped.
pub fn init_tracing(filter: &str) -> LogGuard {
    let (filter, invalid) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(err) => (EnvFilter::new("info"), Some(err)),
    };
    let (writer, flusher) = BatchedStdout::start();
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
