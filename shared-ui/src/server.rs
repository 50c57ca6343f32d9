//! The zone server runtime: one way for every zone to read its settings,
//! log, serve its Leptos app with its own assets, answer health checks and
//! shut down cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use clap::{CommandFactory, FromArgMatches, Parser};
use leptos::config::LeptosOptions;
use leptos::prelude::IntoView;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use shared_auth::runtime::{init_tracing, shutdown_signal};

use crate::Zone;

/// Settings of one zone process, read once at start-up.
///
/// Environment variables (each also a flag, see `--help`):
/// * `LEPTOS_SITE_ADDR`: listen address (default: the zone's port on 127.0.0.1)
/// * `LEPTOS_SITE_ROOT`: folder holding the built assets (default `target/site/<zone>`)
/// * `LEPTOS_RELOAD_PORT`: live-reload port under `cargo leptos watch`
/// * `RUST_LOG`: log filter (default `info`)
#[derive(Debug, Clone, Parser)]
pub struct ZoneConfig {
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR")]
    pub addr: Option<SocketAddr>,
    /// Folder with the zone's compiled assets (cargo-leptos' site-root).
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Port of cargo-leptos' live-reload websocket (only used under `cargo leptos watch`).
    #[arg(long, env = "LEPTOS_RELOAD_PORT")]
    pub reload_port: Option<u16>,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,
}

impl ZoneConfig {
    /// Parses the command line and environment for `zone`'s binary.
    pub fn from_env(zone: Zone) -> Self {
        let command = Self::command().name(zone.package()).about(format!(
            "The {} zone: {} (SSR + islands).",
            zone.name(),
            zone.home()
        ));
        let matches = command.get_matches();
        match Self::from_arg_matches(&matches) {
            Ok(config) => config,
            Err(err) => err.exit(),
        }
    }

    /// The Leptos options for `zone` under these settings. The asset folder
    /// and bundle name come from the zone manifest, never from configuration:
    /// the edge routes `/<pkg_dir>/…` to this zone and nowhere else.
    pub fn leptos_options(&self, zone: Zone) -> LeptosOptions {
        let site_root = self
            .site_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("target/site").join(zone.name()));
        LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(site_root.to_string_lossy().into_owned())
            .site_pkg_dir(zone.pkg_dir())
            .site_addr(self.addr.unwrap_or(zone.default_addr()))
            .reload_port(u32::from(
                self.reload_port.unwrap_or(zone.default_reload_port()),
            ))
            .build()
    }
}

/// The bundle name every zone shares (cargo-leptos' `output-name`).
pub const OUTPUT_NAME: &str = "app";

/// Runs `zone` until Ctrl-C or SIGTERM: renders `app` inside `shell`,
/// registers every server function linked into the binary, serves the
/// zone's assets and answers `GET <api prefix>/health`.
pub fn run<S, SV, A, AV>(zone: Zone, shell: S, app: A) -> std::process::ExitCode
where
    S: Fn(LeptosOptions) -> SV + Clone + Send + Sync + 'static,
    SV: IntoView + 'static,
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let config = ZoneConfig::from_env(zone);
    init_tracing(&config.log);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(serve(zone, config, shell, app)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(zone = zone.name(), "{err:#}");
            eprintln!("{}: {err:#}", zone.package());
            std::process::ExitCode::FAILURE
        }
    }
}

/// Builds the zone's router: Leptos pages and server functions, health,
/// static assets and the not-found fallback.
pub fn router<S, SV, A, AV>(zone: Zone, options: LeptosOptions, shell: S, app: A) -> Router
where
    S: Fn(LeptosOptions) -> SV + Clone + Send + Sync + 'static,
    SV: IntoView + 'static,
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let routes = generate_route_list(app);
    Router::new()
        .route(&zone.health_path(), get(|| async { "ok" }))
        .leptos_routes(&options, routes, {
            let options = options.clone();
            let shell = shell.clone();
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler(shell))
        .with_state(options)
}

async fn serve<S, SV, A, AV>(zone: Zone, config: ZoneConfig, shell: S, app: A) -> anyhow::Result<()>
where
    S: Fn(LeptosOptions) -> SV + Clone + Send + Sync + 'static,
    SV: IntoView + 'static,
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let options = config.leptos_options(zone);
    let addr = options.site_addr;
    let site_root = options.site_root.clone();
    let app = router(zone, options, shell, app);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is another process using it?)"))?;
    tracing::info!(zone = zone.name(), %addr, site_root = %site_root, "listening");
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    tracing::info!(zone = zone.name(), "stopped");
    Ok(())
}
