//! `cargo xtask rotate-keys`: a new session-token signing key. Identity
//! signs with it from the next token on; the old key stays published in
//! the JWKS until every token it signed has expired
//! (`SESSION_TOKEN_TTL_SECS`), so no signed-in user notices.

use anyhow::Context as _;
use shared_auth::session_token::SigningKey;
use shared_auth::store::Store;

use crate::project::step;

pub fn run(database_url: &str) -> anyhow::Result<()> {
    step(&format!(
        "Rotating the session-token signing key in {}",
        shared_auth::store::redact_url(database_url)
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let kid = runtime.block_on(async {
        let store = Store::connect(database_url).await.with_context(|| {
            format!(
                "cannot open {}",
                shared_auth::store::redact_url(database_url)
            )
        })?;
        store
            .check_schema()
            .await
            .context("the database schema is not current: run `cargo xtask migrate` first")?;
        let key = SigningKey::generate()?;
        store
            .rotate_signing_key(key.kid(), &key.to_stored())
            .await
            .context("cannot store the new signing key")?;
        store.close().await;
        anyhow::Ok(key.kid().to_owned())
    })?;
    println!("    new signing key {kid}; the previous one stays published until its tokens expire");
    Ok(())
}
