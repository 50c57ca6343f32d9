//! The mock provider binary (development only): see [`mock_idp::Config`]
//! (or `mock-idp --help`) for its settings.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use mock_idp::Config;
use server_process::{init_tracing, shutdown_signal};

fn main() -> ExitCode {
    // An https PUBLIC_ORIGIN or a missing secret is a usage error: clap
    // prints why and exits with code 2.
    let config = Config::parse();
    let _log = init_tracing(&config.log);
    // 2: the configuration was refused (as with the edge).
    let app = match mock_idp::app(&config) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("mock-idp: {err}");
            return ExitCode::from(2);
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(serve(&config, app)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mock-idp: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config, app: axum::Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another process using it?)",
                config.listen
            )
        })?;
    tracing::warn!(
        listen = %config.listen,
        issuer = %format!("{}{}", config.public_origin, contracts::zone::MOCK_IDP_PREFIX),
        "mock identity provider listening: development only, any username signs in"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server failed")?;
    tracing::info!("mock identity provider stopped");
    Ok(())
}
