//! Users: just-in-time provisioning keyed by the provider's subject.

use super::{Result, Store, now};
use crate::token::random_token;
use contracts::User;

impl Store {
    /// The user for the provider's `subject`, created on first sign-in.
    /// A later sign-in refreshes the username (the provider owns it) but
    /// keeps the display name (the user owns it).
    pub async fn find_or_create_user(&self, subject: &str, username: &str) -> Result<User> {
        let id = random_token(16);
        let (id, username, display_name): (String, String, String) = sqlx::query_as(
            "INSERT INTO users (id, subject, username, display_name, created_at)
             VALUES ($1, $2, $3, $3, $4)
             ON CONFLICT (subject) DO UPDATE SET username = excluded.username
             RETURNING id, username, display_name",
        )
        .bind(&id)
        .bind(subject)
        .bind(username)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Ok(User {
            id,
            username,
            display_name,
        })
    }

    /// The user with `id`, if any.
    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, username, display_name FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, username, display_name)| User {
            id,
            username,
            display_name,
        }))
    }

    /// Sets the name the user chose (validate it with
    /// [`contracts::user::validate_display_name`] first). `false` when the user
    /// does not exist.
    pub async fn set_display_name(&self, user_id: &str, display_name: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(display_name)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
