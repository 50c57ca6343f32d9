//! The session-token signing keys identity keeps in the store, so every
//! identity instance signs with the same keys and publishes the same JWKS.
//! The store holds them as opaque strings; `session_token::SigningKey`
//! reads them.

use sqlx::FromRow;

use super::{Result, Store, now};

/// How many times a rotation is tried when concurrent rotations collide
/// (see [`Store::rotate_signing_key`]).
const ROTATION_ATTEMPTS: u32 = 5;

const INSERT_KEY: &str = "INSERT INTO signing_keys (kid, private_key, created_at, retired_at)
     VALUES ($1, $2, $3, NULL)";

/// A row of `signing_keys`.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct StoredKey {
    pub kid: String,
    /// base64 PKCS#8: never logged (see the `Debug` impl).
    pub private_key: String,
    pub created_at: i64,
    /// When a newer key took over; `None` while it is the signing key.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The keys to publish, the signing keys first, then newest first:
    /// every key not retired, and those retired at or after
    /// `retired_since` (tokens they signed may still be alive).
    pub async fn signing_keys(&self, retired_since: i64) -> Result<Vec<StoredKey>> {
        Ok(sqlx::query_as(
            "SELECT kid, private_key, created_at, retired_at FROM signing_keys
             WHERE retired_at IS NULL OR retired_at >= $1
             ORDER BY CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, created_at DESC, kid",
        )
        .bind(retired_since)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The key to sign with: the newest one not retired.
    pub async fn signing_key(&self) -> Result<Option<StoredKey>> {
        Ok(sqlx::query_as(
            "SELECT kid, private_key, created_at, retired_at FROM signing_keys
             WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Adds `kid` as the signing key unless one exists already: the first
    /// use of identity. Whether it was added. Atomic: of several requests
    /// or instances adding one at once, exactly one wins (the
    /// `signing_keys_one_signing` index allows one key not retired), so
    /// every JWKS fetched from then on names the key that signs.
    pub async fn add_first_signing_key(&self, kid: &str, private_key: &str) -> Result<bool> {
        let insert = format!("{INSERT_KEY} ON CONFLICT DO NOTHING");
        let added = sqlx::query(&insert)
            .bind(kid)
            .bind(private_key)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(added.rows_affected() == 1)
    }

    /// Makes `kid` the signing key and retires every other one (they stay
    /// published until their tokens have expired), in one transaction.
    ///
    /// Rotations at once (PostgreSQL): a later one's retiring does not see
    /// the key an earlier one just added, so its insert breaks the
    /// one-signing-key index. It is then run again, retiring that key too,
    /// as a rotation right after it would; each such failure means another
    /// rotation got through, so a few attempts serve any realistic number
    /// of concurrent rotations.
    pub async fn rotate_signing_key(&self, kid: &str, private_key: &str) -> Result<()> {
        let mut attempts = 1;
        loop {
            match self.try_rotate_signing_key(kid, private_key).await {
                Err(sqlx::Error::Database(err))
                    if err.is_unique_violation() && attempts < ROTATION_ATTEMPTS =>
                {
                    attempts += 1;
                }
                outcome => return Ok(outcome?),
            }
        }
    }

    async fn try_rotate_signing_key(&self, kid: &str, private_key: &str) -> sqlx::Result<()> {
        let now = now();
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(INSERT_KEY)
            .bind(kid)
            .bind(private_key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Deletes keys retired before `before` (no live token names them).
    pub async fn delete_retired_signing_keys(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE retired_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
