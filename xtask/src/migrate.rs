//! `cargo xtask migrate`: applies the shared schema and every zone's own
//! tables once, before any zone starts (zones only check that theirs are
//! current).

use anyhow::Context as _;
use shared_auth::store::{Migrator, Store};

use crate::project::step;

/// The store every zone uses unless `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/sessions.sqlite";

pub fn run(database_url: &str) -> anyhow::Result<()> {
    step(&format!("Applying database migrations to {database_url}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(database_url)
            .await
            .with_context(|| format!("cannot open {database_url}"))?;
        store.migrate().await.context("migration failed")?;
        for (zone, migrator) in zone_schemas() {
            store
                .migrate_with(&migrator)
                .await
                .with_context(|| format!("migration of the {zone} zone's tables failed"))?;
        }
        store.close().await;
        anyhow::Ok(())
    })?;
    println!("    schema is up to date");
    Ok(())
}

/// The zones that own tables, with their migrations (the same folders the
/// zone binaries embed for `--migrate`).
fn zone_schemas() -> Vec<(&'static str, Migrator)> {
    let mut shop = sqlx::migrate!("../zones/shop/migrations");
    shop.set_ignore_missing(true);
    vec![("shop", shop)]
}
