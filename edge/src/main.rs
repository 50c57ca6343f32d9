//! The edge binary: see [`edge::Config`] (or `edge --help`) for its settings.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use edge::{Config, Edge};
use shared_auth::runtime::{init_tracing, shutdown_signal};

fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(&config.log);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(config)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("edge: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let routes = config.route_table().context("invalid route table")?;
    let edge = Arc::new(Edge::new(
        routes,
        config.connect_timeout(),
        config.response_timeout(),
    ));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another process using it?)",
                config.listen
            )
        })?;
    tracing::info!(listen = %config.listen, "edge listening; routes:\n{}", edge.routes());
    axum::serve(
        listener,
        edge::app(edge).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server error")?;
    tracing::info!("edge stopped");
    Ok(())
}
