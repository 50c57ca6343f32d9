//! Process plumbing shared by every server binary (the zones and the edge).

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the global `tracing` subscriber with `filter`
/// (`tracing_subscriber::EnvFilter` syntax; an invalid filter falls back to
/// `info` with a warning).
pub fn init_tracing(filter: &str) {
    let (filter, invalid) = match EnvFilter::try_new(filter) {
        Ok(filter) => (filter, None),
        Err(err) => (EnvFilter::new("info"), Some(err)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    if let Some(err) = invalid {
        tracing::warn!("invalid log filter, using `info`: {err}");
    }
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
