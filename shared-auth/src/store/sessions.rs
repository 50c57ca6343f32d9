//! Sessions, Lucia-style: the cookie carries a random token, the table only
//! its SHA-256. Sliding expiry (renewed past half its life) under an
//! absolute cap.

use std::time::Duration;

use sqlx::FromRow;

use super::{Result, Store, now, secs};
use crate::token::{hash, random_token};
use contracts::User;

/// How long sessions live.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// Idle lifetime; each use past half of it extends it to a full one.
    pub ttl: Duration,
    /// Hard limit from creation, however active the session is.
    pub max_age: Duration,
}

/// A row of `sessions` (times in Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub absolute_expires_at: i64,
    pub last_seen_at: i64,
    pub user_agent: Option<String>,
}

impl Session {
    /// Seconds until the session expires (the cookie's `Max-Age`).
    pub fn remaining_secs(&self) -> i64 {
        (self.expires_at - now()).max(0)
    }
}

/// A freshly created session and the token to put in the cookie (the only
/// time the token exists outside the user's browser).
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub session: Session,
}

/// A valid session, its user, and whether this lookup extended it (then
/// the cookie must be re-issued with the new `Max-Age`).
#[derive(Clone, Debug)]
pub struct Validated {
    pub session: Session,
    pub user: User,
    pub renewed: bool,
}

#[derive(FromRow)]
struct SessionWithUser {
    #[sqlx(flatten)]
    session: Session,
    username: String,
    display_name: String,
}

/// `last_seen_at` is written at most this often per session.
const LAST_SEEN_GRANULARITY: i64 = 60;

impl Store {
    /// Creates a session for `user_id`. Every sign-in gets a new one.
    pub async fn create_session(
        &self,
        user_id: &str,
        user_agent: Option<&str>,
        policy: SessionPolicy,
    ) -> Result<NewSession> {
        let absolute_expires_at = now() + secs(policy.max_age);
        self.insert_session(user_id, user_agent, policy, absolute_expires_at)
            .await
    }

    /// Ends `old` and gives its user a new session (new id, new token)
    /// that ends no later than `old` would have: rotation never stretches
    /// the absolute lifetime a sign-in granted.
    pub async fn replace_session(
        &self,
        old: &Session,
        user_agent: Option<&str>,
        policy: SessionPolicy,
    ) -> Result<NewSession> {
        self.delete_session(&old.id).await?;
        self.insert_session(&old.user_id, user_agent, policy, old.absolute_expires_at)
            .await
    }

    async fn insert_session(
        &self,
        user_id: &str,
        user_agent: Option<&str>,
        policy: SessionPolicy,
        absolute_expires_at: i64,
    ) -> Result<NewSession> {
        let token = random_token(32);
        let now = now();
        let session = Session {
            id: random_token(16),
            user_id: user_id.to_owned(),
            created_at: now,
            expires_at: (now + secs(policy.ttl)).min(absolute_expires_at),
            absolute_expires_at,
            last_seen_at: now,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        };
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, absolute_expires_at, last_seen_at, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id)
        .bind(hash(&token))
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.expires_at)
        .bind(session.absolute_expires_at)
        .bind(session.last_seen_at)
        .bind(&session.user_agent)
        .execute(&self.pool)
        .await?;
        Ok(NewSession { token, session })
    }

    /// Resolves a cookie token to its session and user. Expired sessions
    /// are deleted and reported as absent; one past half its idle life is
    /// extended.
    pub async fn validate_session(
        &self,
        token: &str,
        policy: SessionPolicy,
    ) -> Result<Option<Validated>> {
        let row: Option<SessionWithUser> = sqlx::query_as(
            "SELECT s.id, s.user_id, s.created_at, s.expires_at, s.absolute_expires_at,
                    s.last_seen_at, s.user_agent, u.username, u.display_name
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1",
        )
        .bind(hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(SessionWithUser {
            mut session,
            username,
            display_name,
        }) = row
        else {
            return Ok(None);
        };
        let now = now();
        if now >= session.expires_at || now >= session.absolute_expires_at {
            self.delete_session(&session.id).await?;
            return Ok(None);
        }
        let ttl = secs(policy.ttl);
        let renewed =
            session.expires_at - now < ttl / 2 && session.expires_at < session.absolute_expires_at;
        if renewed {
            session.expires_at = (now + ttl).min(session.absolute_expires_at);
            session.last_seen_at = now;
            sqlx::query("UPDATE sessions SET expires_at = $1, last_seen_at = $2 WHERE id = $3")
                .bind(session.expires_at)
                .bind(now)
                .bind(&session.id)
                .execute(&self.pool)
                .await?;
        } else if now - session.last_seen_at >= LAST_SEEN_GRANULARITY {
            session.last_seen_at = now;
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&session.id)
                .execute(&self.pool)
                .await?;
        }
        let user = User {
            id: session.user_id.clone(),
            username,
            display_name,
        };
        Ok(Some(Validated {
            session,
            user,
            renewed,
        }))
    }

    /// The row of session `id`, if it is live.
    pub async fn session(&self, id: &str) -> Result<Option<Session>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at, user_agent
             FROM sessions WHERE id = $1 AND expires_at > $2 AND absolute_expires_at > $2",
        )
        .bind(id)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes one session (sign-out). Every zone sees it at once.
    pub async fn delete_session(&self, id: &str) -> Result<bool> {
        let ended = self
            .end_sessions(
                sqlx::query_scalar("DELETE FROM sessions WHERE id = $1 RETURNING id").bind(id),
            )
            .await?;
        Ok(!ended.is_empty())
    }

    /// Deletes session `id` if it belongs to `user_id` ("sign out that
    /// device"); `false` when there is no such session of that user.
    pub async fn delete_user_session(&self, user_id: &str, id: &str) -> Result<bool> {
        let ended = self
            .end_sessions(
                sqlx::query_scalar(
                    "DELETE FROM sessions WHERE id = $1 AND user_id = $2 RETURNING id",
                )
                .bind(id)
                .bind(user_id),
            )
            .await?;
        Ok(!ended.is_empty())
    }

    /// Deletes the session a cookie token belongs to, if any.
    pub async fn delete_session_by_token(&self, token: &str) -> Result<bool> {
        let ended = self
            .end_sessions(
                sqlx::query_scalar("DELETE FROM sessions WHERE token_hash = $1 RETURNING id")
                    .bind(hash(token)),
            )
            .await?;
        Ok(!ended.is_empty())
    }

    /// Deletes every session of `user_id` except `keep` ("sign out
    /// everywhere else"); `None` signs out everywhere.
    pub async fn delete_user_sessions(&self, user_id: &str, keep: Option<&str>) -> Result<u64> {
        let ended = self
            .end_sessions(
                sqlx::query_scalar(
                    "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id",
                )
                .bind(user_id)
                .bind(keep.unwrap_or("")),
            )
            .await?;
        Ok(u64::try_from(ended.len()).unwrap_or(u64::MAX))
    }

    /// The user's live sessions, newest first.
    pub async fn user_sessions(&self, user_id: &str) -> Result<Vec<Session>> {
        let sessions = sqlx::query_as(
            "SELECT id, user_id, created_at, expires_at, absolute_expires_at, last_seen_at, user_agent
             FROM sessions WHERE user_id = $1 AND expires_at > $2 AND absolute_expires_at > $2
             ORDER BY created_at DESC",
        )
        .bind(user_id)
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        Ok(sessions)
    }
}
