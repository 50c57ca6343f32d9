//! The edge binary: see [`edge::Config`] (or `edge --help`) for its settings.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use edge::serve::ServeOptions;
use edge::{Config, Edge, EdgeOptions, RouteTable, cores};
use server_process::{init_tracing, shutdown_signal};

// glibc's malloc showed as ~12% of the edge's CPU under load (per-request
// header maps, buffers); mimalloc's thread-local free lists are cheaper.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = Config::parse();
    let _log = init_tracing(&config.log);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("edge: {err:#}");
            // 2: the configuration was refused (as opposed to a runtime failure).
            ExitCode::from(2)
        }
    }
}

fn run(config: Config) -> anyhow::Result<()> {
    let manifest = config.manifest()?;
    let routes =
        RouteTable::from_manifest(&manifest, config.cool_down()).context("invalid route table")?;
    let options = EdgeOptions {
        connect_timeout: config.connect_timeout(),
        response_timeout: config.response_timeout(),
        trusted_proxies: config.trusted(),
        public_proto: if config.public_proto == "https" {
            "https"
        } else {
            "http"
        },
        idle_timeout: config.idle_timeout(),
        dev_reload: config.dev_reload.clone(),
        dev_waiting_page: config.dev_waiting_page,
        rate_limits: config.rate_limits,
        cache_bytes: config.cache_bytes,
    };
    let edge = Arc::new(Edge::new(routes, options));
    let threads = config.threads();
    let listeners = cores::bind(config.listen, threads).with_context(|| {
        format!(
            "cannot listen on {} (is another process using it?)",
            config.listen
        )
    })?;
    if config.mock_idp_upstream.is_some() {
        tracing::warn!("routing /mock-idp to the mock OpenID provider: development only");
    }
    if !config.rate_limits {
        tracing::warn!("rate limits are off (--rate-limits false)");
    }
    let cache = match config.cache_bytes {
        0 => "off".to_owned(),
        bytes => format!("{} MiB", bytes / (1024 * 1024)),
    };
    tracing::info!(listen = %config.listen, threads, cache, "edge listening; routes:\n{}", edge.routes());
    let serve_options = ServeOptions {
        max_header_bytes: usize::try_from(config.max_header_bytes).unwrap_or(usize::MAX),
        shutdown_grace: config.shutdown_grace(),
        max_connections: usize::try_from(config.max_connections).unwrap_or(usize::MAX),
        max_connections_per_client: usize::try_from(config.max_connections_per_client)
            .unwrap_or(usize::MAX),
        trusted_proxies: config.trusted(),
        write_stall: config.idle_timeout(),
    };
    cores::run(
        listeners,
        edge,
        serve_options,
        config.health_interval(),
        shutdown_signal(),
    )?;
    tracing::info!("edge stopped");
    Ok(())
}
