//! The zone server runtime: one way for every zone to read its settings,
//! open the shared store, resolve sessions, serve its Leptos app with its
//! own assets, answer `/…/me` and health checks, and shut down cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use leptos::config::LeptosOptions;
use leptos::prelude::{IntoView, provide_context, view};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use server_process::{init_tracing, shutdown_signal};
use shared_auth::auth::{Auth, me, session_layer};
use shared_auth::config::{AuthConfig, SessionMode};
use shared_auth::guard::{keep_location_on_origin, only_direct, refuse_cross_site};
use shared_auth::session_token::JwksCache;
use shared_auth::store::RevocationFeed;
use shared_auth::store::{Migrator, Store, redact_url};
use shared_auth::token_issuer::TokenIssuer;
use shared_auth::token_refresh::{Refresher, Refreshes};
use shared_auth::token_trust::{FEED_POLL, TokenTrust};
use shared_ui::Document;

use crate::assets;

use contracts::Zone;
use contracts::zone::{
    OUTPUT_NAME, REVOCATIONS_PATH, SESSION_JWKS_PATH, SESSION_TOKEN_REFRESH_PATH,
};
use shared_auth::identity_feed::IdentityFeed;

/// Settings of one zone process, read once at start-up: the server's own,
/// the shared session settings, and the zone's extras `X`.
///
/// Environment variables (each also a flag, see `--help`):
/// * `LEPTOS_SITE_ADDR`: listen address (default: the zone's port on 127.0.0.1)
/// * `LEPTOS_SITE_ROOT`: folder holding the built assets (default `target/site/<zone>`)
/// * `LEPTOS_RELOAD_PORT`: live-reload port under `cargo leptos watch`
/// * `RUST_LOG`: log filter (default `info`)
/// * `SPECULATION_RULES`: `false` drops the speculation rules from pages
/// * those of [`AuthConfig`] and of `X`
#[derive(Debug, Clone, Parser)]
pub struct ZoneConfig<X: Args> {
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
    /// Set by `cargo leptos watch`: pages then carry the live-reload script.
    #[arg(long, env = "LEPTOS_WATCH", hide = true)]
    pub watch: Option<String>,
    /// Speculation rules on zone links: the browser prefetches a linked
    /// page on hover and prerenders the primary navigation's. `false`
    /// turns them off.
    #[arg(long, env = "SPECULATION_RULES", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub speculation_rules: bool,
    /// Apply the database migrations (the shared schema and this zone's
    /// tables) and exit. Run before the zones start; several processes
    /// may run it at once (they take turns on a lock).
    #[arg(long)]
    pub migrate: bool,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub extra: X,
}

/// For zones with no settings of their own.
#[derive(Debug, Clone, Default, Args)]
pub struct NoExtra {}

impl<X: Args> ZoneConfig<X> {
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

/// `options` linking the content-hashed bundle a release build left
/// (`assets::release_stem`), unless under `cargo leptos watch` or there is
/// none; a manifest that names missing files is logged and ignored.
fn with_release_assets(mut options: LeptosOptions, zone: Zone, watching: bool) -> LeptosOptions {
    if watching {
        return options;
    }
    match assets::release_stem(std::path::Path::new(&*options.site_root), zone) {
        Ok(Some(stem)) => {
            tracing::info!(zone = zone.name(), bundle = %stem, "linking the release's hashed assets");
            options.output_name = stem.into();
        }
        Ok(None) => {}
        Err(problem) => {
            tracing::warn!(
                zone = zone.name(),
                "{problem}; linking {OUTPUT_NAME}.* instead"
            );
        }
    }
    options
}

/// How often each zone deletes expired sessions and grants.
const CLEANUP_EVERY: Duration = Duration::from_secs(10 * 60);

/// A zone: its manifest entry and its root component (the route table),
/// plus the migrations of the tables the zone owns, if it owns any. The
/// document around it is shared-ui's `Document`, the same for every zone.
pub struct ZoneApp<A> {
    pub zone: Zone,
    pub app: A,
    pub schema: Option<Migrator>,
}

impl<A> ZoneApp<A> {
    /// Applies the shared schema, then the zone's own tables' migrations.
    pub async fn migrate(&self, store: &Store) -> anyhow::Result<()> {
        store.migrate().await.context("migration failed")?;
        if let Some(schema) = &self.schema {
            store
                .migrate_with(schema)
                .await
                .context("migration of the zone's own tables failed")?;
        }
        Ok(())
    }
}

/// What a zone adds to the runtime's router.
#[derive(Default)]
pub struct ZoneRoutes {
    /// Routes behind the same guards and session layer as the pages.
    pub routes: Router,
    /// Zone-to-zone routes: no session layer, and only for direct callers
    /// (see `shared_auth::guard::only_direct`).
    pub internal: Router,
    /// Set by identity, which signs session tokens: token mode then
    /// refreshes them in-process, and server functions find it in context.
    pub issuer: Option<TokenIssuer>,
}

impl From<Router> for ZoneRoutes {
    fn from(routes: Router) -> Self {
        Self {
            routes,
            ..Self::default()
        }
    }
}

/// Runs a zone without extra settings or routes.
pub fn run<A, AV>(zone: Zone, app: A) -> std::process::ExitCode
where
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let zone_app = ZoneApp {
        zone,
        app,
        schema: None,
    };
    run_with::<NoExtra, _, _>(zone_app, |_, _| Ok(ZoneRoutes::default()))
}

/// Runs a zone until Ctrl-C or SIGTERM. `routes` adds the zone's own axum
/// routes (built from its extra settings `X` and [`Auth`], see
/// [`ZoneRoutes`]).
pub fn run_with<X, A, AV>(
    zone_app: ZoneApp<A>,
    routes: impl FnOnce(&X, &Auth) -> anyhow::Result<ZoneRoutes>,
) -> std::process::ExitCode
where
    X: Args + Send + 'static,
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let zone = zone_app.zone;
    let config = ZoneConfig::<X>::from_env(zone);
    let _log = init_tracing(&config.log);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(serve(zone_app, config, routes)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(zone = zone.name(), "{err:#}");
            eprintln!("{}: {err:#}", zone.package());
            std::process::ExitCode::FAILURE
        }
    }
}

/// What the document around every page carries besides the zone's app.
#[derive(Clone, Copy, Debug)]
pub struct PageOptions {
    /// The live-reload script (under `cargo leptos watch`).
    pub live_reload: bool,
    /// Speculation rules for zone links (`shared_ui::document::SPECULATION_RULES`).
    pub speculation_rules: bool,
}

impl Default for PageOptions {
    /// As in production: speculation rules, no live reload.
    fn default() -> Self {
        Self {
            live_reload: false,
            speculation_rules: true,
        }
    }
}

/// The zone's router: extra routes, `/…/me`, health, Leptos pages and
/// server functions (with [`Auth`] in their context), static assets and
/// the not-found fallback, all behind the cross-site refusal, the session
/// layer and the Location guard (`shared_auth::guard`); and the zone's
/// internal routes beside them.
pub fn router<A, AV>(
    zone_app: ZoneApp<A>,
    options: LeptosOptions,
    auth: Auth,
    extra: ZoneRoutes,
    pages: PageOptions,
) -> Router
where
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let ZoneApp { zone, app, .. } = zone_app;
    let routes = generate_route_list(app.clone());
    let shell = move |options: LeptosOptions| {
        let app = app.clone();
        view! { <Document options zone>{app()}</Document> }
    };
    let context = {
        let auth = auth.clone();
        let issuer = extra.issuer.clone();
        move || {
            provide_context(auth.clone());
            if let Some(issuer) = &issuer {
                provide_context(issuer.clone());
            }
            // The zone serving the call: `require_user`'s sign-in link
            // comes back to its home page.
            provide_context(zone);
            if pages.live_reload {
                provide_context(shared_ui::document::LiveReloadEnabled);
            }
            if pages.speculation_rules {
                provide_context(shared_ui::document::SpeculationRulesEnabled);
            }
        }
    };
    let pages = Router::new()
        .route(&zone.health_path(), get(|| async { "ok" }))
        .route(zone.me_path(), get(move |user| me(zone, user)))
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            let shell = shell.clone();
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context(context, shell))
        .layer(axum::middleware::from_fn_with_state(
            zone,
            assets::cache_assets,
        ))
        .with_state(options);
    // Outermost first: cross-site writes are refused before the store is
    // read; the session layer marks signed-in responses private; no
    // redirect leaves the origin.
    let internal = extra.internal.layer(axum::middleware::from_fn(only_direct));
    extra
        .routes
        .merge(pages)
        .layer(axum::middleware::map_response_with_state(
            auth.clone(),
            keep_location_on_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            session_layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            auth,
            refuse_cross_site,
        ))
        .layer(assets::compression())
        .merge(internal)
}

async fn serve<X, A, AV>(
    zone_app: ZoneApp<A>,
    config: ZoneConfig<X>,
    routes: impl FnOnce(&X, &Auth) -> anyhow::Result<ZoneRoutes>,
) -> anyhow::Result<()>
where
    X: Args,
    A: Fn() -> AV + Clone + Send + Sync + 'static,
    AV: IntoView + 'static,
{
    let zone = zone_app.zone;
    let url = &config.auth.database_url;
    let token_mode = config.auth.session_mode == SessionMode::Token;
    // In token mode a zone without tables of its own (the public zone)
    // needs no database: tokens say who is signed in, identity refreshes
    // them and serves the revocation log.
    let uses_database =
        config.migrate || !token_mode || zone_app.schema.is_some() || zone == Zone::Identity;
    if !uses_database {
        tracing::info!(
            zone = zone.name(),
            "token mode without a database: sessions come from identity"
        );
    }
    let store = if uses_database {
        let store = Store::connect_patiently(url, config.auth.database_wait())
            .await
            .with_context(|| format!("cannot open the store at {}", redact_url(url)))?;
        tracing::info!(
            zone = zone.name(),
            database = %redact_url(url),
            "store open ({})",
            store.backend().name()
        );
        store
    } else {
        Store::connect_lazy(url)
            .with_context(|| format!("DATABASE_URL {} is not valid", redact_url(url)))?
    };
    if config.migrate {
        zone_app.migrate(&store).await?;
        tracing::info!(zone = zone.name(), "database schema is up to date");
        return Ok(());
    }
    if uses_database {
        store.check_schema().await?;
        if let Some(schema) = &zone_app.schema {
            store.check_schema_of(schema).await?;
        }
    }
    let mut auth = Auth::new(store.clone(), config.auth.clone());
    // The zone's routes see the store and settings; token mode's trust is
    // added after (identity's signer, if any, comes from them).
    let extra = routes(&config.extra, &auth)?;
    let mut background = Vec::new();
    if token_mode {
        let feed_source = uses_database.then(|| store.clone());
        let (trust, tasks) = token_trust(zone, &config.auth, feed_source, extra.issuer.clone())?;
        auth = auth.with_token_trust(trust);
        background.extend(tasks);
    }
    let options = with_release_assets(config.leptos_options(zone), zone, config.watch.is_some());
    let addr = options.site_addr;
    let site_root = options.site_root.clone();
    let pages = PageOptions {
        live_reload: config.watch.is_some(),
        speculation_rules: config.speculation_rules,
    };
    let app = router(zone_app, options, auth, extra, pages);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is another process using it?)"))?;
    tracing::info!(zone = zone.name(), %addr, site_root = %site_root, "listening");
    let cleanup = uses_database.then(|| tokio::spawn(delete_expired_periodically(store.clone())));
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    if let Some(cleanup) = cleanup {
        cleanup.abort();
    }
    for task in background {
        task.abort();
    }
    store.close().await;
    tracing::info!(zone = zone.name(), "stopped");
    Ok(())
}

/// Token mode: identity's JWKS (fetched in the background, patiently:
/// identity may start after this zone, or be this zone), the revocation
/// log, followed every [`FEED_POLL`] (in `store`, or from identity for a
/// zone without a database), and where fresh tokens come from (`issuer`
/// in identity, identity's internal route elsewhere). Until the JWKS and
/// the log are current, every signed-in request asks identity.
fn token_trust(
    zone: Zone,
    auth: &AuthConfig,
    store: Option<Store>,
    issuer: Option<TokenIssuer>,
) -> anyhow::Result<(Arc<TokenTrust>, Vec<tokio::task::JoinHandle<()>>)> {
    let jwks = JwksCache::new(
        &auth.identity_url(SESSION_JWKS_PATH),
        &auth.token_issuer(),
        auth.token_audience(),
    )?;
    let feed = RevocationFeed::new();
    let refresher = match issuer {
        Some(issuer) => Refresher::Local(issuer),
        None => Refresher::remote(
            auth.identity_url(SESSION_TOKEN_REFRESH_PATH),
            auth.cookies(),
        )
        .context("cannot build the HTTP client for token refreshes")?,
    };
    let trust = Arc::new(TokenTrust::new(
        jwks,
        feed.clone(),
        Refreshes::new(refresher),
        auth.cookies(),
    ));
    let wait = auth.database_wait();
    let fetch = tokio::spawn({
        let trust = trust.clone();
        async move {
            match trust.jwks().fetch_patiently(wait).await {
                Ok(()) => tracing::info!(zone = zone.name(), "token mode: identity's JWKS fetched"),
                Err(err) => tracing::warn!(
                    zone = zone.name(),
                    "token mode: {err}; tokens are checked once identity answers"
                ),
            }
            trust.keep_keys_fresh().await;
        }
    });
    let follow = match store {
        Some(store) => tokio::spawn(feed.follow(store, FEED_POLL)),
        None => {
            let source = IdentityFeed::new(auth.identity_url(REVOCATIONS_PATH))
                .context("cannot build the HTTP client for the revocation log")?;
            tokio::spawn(feed.follow(source, FEED_POLL))
        }
    };
    tracing::info!(zone = zone.name(), "session mode: token");
    Ok((trust, vec![fetch, follow]))
}

async fn delete_expired_periodically(store: Store) {
    let mut tick = tokio::time::interval(CLEANUP_EVERY);
    loop {
        tick.tick().await;
        match store.delete_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "deleted expired sessions and grants"),
            Err(err) => tracing::warn!("cleanup of expired sessions failed: {err}"),
        }
    }
}
