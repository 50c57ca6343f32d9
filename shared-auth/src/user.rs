//! The signed-in user as every zone sees it.

use serde::{Deserialize, Serialize};

use crate::UserSummary;

/// A user of the site (a row of `users`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable, opaque id (random, not the provider's subject).
    pub id: String,
    /// The login name the identity provider reported.
    pub username: String,
    /// The name shown in the header; the user can change it.
    pub display_name: String,
}

impl User {
    /// The part of the user that `/…/me` reveals.
    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id.clone(),
            username: self.username.clone(),
        }
    }
}
