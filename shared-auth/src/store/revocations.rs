//! The revocation log (see the migration `…_session_revocations.sql`):
//! the store appends to it whenever it ends sessions, in the same
//! transaction; a process that verifies session tokens locally follows it
//! with [`Store::revocations_since`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use super::{Backend, Db, Result, Store, now};

/// The PostgreSQL channel every revocation is announced on (`NOTIFY`, sent
/// when its transaction commits), so followers read at once rather than
/// at their next poll.
const CHANNEL: &str = "meridian_revocations";

/// How long a revocation stays in the log: past the longest session-token
/// life (`SESSION_TOKEN_TTL_SECS` ≤ 3600), no token of the session can be
/// alive, and a follower that fell further behind starts again from the
/// current mark (and distrusts tokens until it has caught up).
pub const RETENTION_SECS: i64 = 2 * 3600;

/// Sessions revoked after a mark, and the new mark.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revocations {
    pub session_ids: Vec<String>,
    pub mark: i64,
}

impl Store {
    /// The log's high-water mark: the number of the last revocation.
    pub async fn revocation_mark(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT last_seq FROM revocation_counter WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The sessions revoked after `mark`, oldest first, at most `limit`,
    /// with the mark to ask from next time.
    pub async fn revocations_since(&self, mark: i64, limit: i64) -> Result<Revocations> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, session_id FROM session_revocations WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(mark)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mark = rows.last().map_or(mark, |(seq, _)| *seq);
        Ok(Revocations {
            session_ids: rows.into_iter().map(|(_, id)| id).collect(),
            mark,
        })
    }

    /// Deletes the sessions a `DELETE … RETURNING id` statement selects
    /// and logs them as revoked, in one transaction: a session is never
    /// gone without its revocation, nor logged without being gone.
    pub(super) async fn end_sessions<'q>(
        &self,
        delete: sqlx::query::QueryScalar<'q, Db, String, sqlx::any::AnyArguments<'q>>,
    ) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let ended = delete.fetch_all(&mut *tx).await?;
        if !ended.is_empty() {
            let count = i64::try_from(ended.len()).unwrap_or(i64::MAX);
            let last: i64 = sqlx::query_scalar(
                "UPDATE revocation_counter SET last_seq = last_seq + $1 WHERE id = 1
                 RETURNING last_seq",
            )
            .bind(count)
            .fetch_one(&mut *tx)
            .await?;
            if self.backend == Backend::Postgres {
                sqlx::query(&format!("NOTIFY {CHANNEL}"))
                    .execute(&mut *tx)
                    .await?;
            }
            let now = now();
            for (seq, id) in (last - count + 1..).zip(&ended) {
                sqlx::query(
                    "INSERT INTO session_revocations (seq, session_id, revoked_at)
                     VALUES ($1, $2, $3)",
                )
                .bind(seq)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// On PostgreSQL: a [`Notify`] woken whenever a revocation is logged,
    /// by a task that listens on [`CHANNEL`] (reconnecting after a loss)
    /// for as long as the returned handle is kept. `None` on SQLite, which
    /// has no such announcement: followers poll.
    pub(super) fn listen_for_revocations(&self) -> Option<Arc<Notify>> {
        let url = self.listen_url.clone()?;
        let news = Arc::new(Notify::new());
        tokio::spawn(listen(url, Arc::downgrade(&news)));
        Some(news)
    }

    /// Deletes log entries older than [`RETENTION_SECS`].
    pub(super) async fn delete_old_revocations(&self) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM session_revocations WHERE revoked_at < $1")
                .bind(now() - RETENTION_SECS)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// Listens on [`CHANNEL`] and wakes `news` for every announcement, until
/// nobody holds `news` any more. A lost connection is logged and opened
/// again; meanwhile the followers' polling carries on.
async fn listen(url: Arc<str>, news: Weak<Notify>) {
    const RETRY: Duration = Duration::from_secs(1);
    let mut warned = false;
    while news.strong_count() > 0 {
        let mut listener = match PgListener::connect(&url).await {
            Ok(listener) => listener,
            Err(err) => {
                if !warned {
                    tracing::warn!("cannot listen for revocations (polling only): {err}");
                    warned = true;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!("cannot listen for revocations (polling only): {err}");
            tokio::time::sleep(RETRY).await;
            continue;
        }
        warned = false;
        loop {
            // Wake up now and then to notice that nobody listens any more.
            match tokio::time::timeout(RETRY, listener.try_recv()).await {
                Err(_) => {}
                Ok(Ok(Some(_))) => match news.upgrade() {
                    Some(news) => news.notify_one(),
                    None => return,
                },
                // The connection was lost; `try_recv` reconnects next time.
                Ok(Ok(None)) => {}
                Ok(Err(err)) => {
                    tracing::warn!("listening for revocations failed: {err}");
                    break;
                }
            }
            if news.strong_count() == 0 {
                return;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
