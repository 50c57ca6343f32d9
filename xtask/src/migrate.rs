//! `cargo xtask migrate`: applies the shared schema once, before any zone
//! starts (zones only check that it is current).

use anyhow::Context as _;
use shared_auth::store::Store;

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
        store.close().await;
        anyhow::Ok(())
    })?;
    println!("    schema is up to date");
    Ok(())
}
