//! The shop's server side (feature `ssr`): its own schema, its queries,
//! and the one axum route that is not a page or a server function.

pub mod db;
pub mod pending;

use axum::Router;
use axum::routing::get;
use shared_auth::auth::Auth;
use shared_auth::store::DbPool;
use sqlx::migrate::Migrator;
use zone_runtime::server::{NoExtra, ZoneRoutes};

use crate::error::ShopError;

/// The shop's own tables (catalogue, carts, orders), applied by
/// `cargo xtask migrate` or `zone-shop --migrate` after the shared schema.
pub fn migrations() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// The shared database pool, from the zone runtime's context.
pub fn shop_pool() -> Result<DbPool, ShopError> {
    Ok(shared_auth::leptos::auth()?.store().pool().clone())
}

/// The shop's axum routes beside its pages and server functions.
pub fn routes(_: &NoExtra, auth: &Auth) -> anyhow::Result<ZoneRoutes> {
    Ok(Router::new()
        .route(&pending::resume_path(), get(pending::resume))
        .with_state(auth.clone())
        .into())
}
