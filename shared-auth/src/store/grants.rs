//! Short-lived secrets the identity flow hands out: OAuth `state`,
//! authorization codes, access tokens. Only the SHA-256 of the secret is
//! stored; taking a single-use grant deletes it in the same statement, so
//! two concurrent uses (from any process) cannot both succeed.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, Store, StoreError, now, secs};
use crate::token::hash;

impl Store {
    /// Stores `payload` under `(kind, secret)` for `ttl`.
    pub async fn put_grant<T: Serialize>(
        &self,
        kind: &str,
        secret: &str,
        payload: &T,
        ttl: Duration,
    ) -> Result<()> {
        let payload =
            serde_json::to_string(payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO grants (kind, key_hash, payload, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(kind)
        .bind(hash(secret))
        .bind(payload)
        .bind(now() + secs(ttl))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns the grant, if it exists and has not expired.
    pub async fn take_grant<T: DeserializeOwned>(
        &self,
        kind: &str,
        secret: &str,
    ) -> Result<Option<T>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "DELETE FROM grants WHERE kind = $1 AND key_hash = $2 RETURNING payload, expires_at",
        )
        .bind(kind)
        .bind(hash(secret))
        .fetch_optional(&self.pool)
        .await?;
        decode_live(row)
    }

    /// Returns the grant without consuming it, if it has not expired.
    pub async fn peek_grant<T: DeserializeOwned>(
        &self,
        kind: &str,
        secret: &str,
    ) -> Result<Option<T>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT payload, expires_at FROM grants WHERE kind = $1 AND key_hash = $2",
        )
        .bind(kind)
        .bind(hash(secret))
        .fetch_optional(&self.pool)
        .await?;
        decode_live(row)
    }
}

fn decode_live<T: DeserializeOwned>(row: Option<(String, i64)>) -> Result<Option<T>> {
    match row {
        Some((payload, expires_at)) if expires_at > now() => serde_json::from_str(&payload)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
        _ => Ok(None),
    }
}
