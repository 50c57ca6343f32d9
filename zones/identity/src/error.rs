//! What an account server function can refuse, as a typed error the
//! islands show (and plain forms get back in the URL).

use contracts::user::DisplayNameError;
use serde::{Deserialize, Serialize};
use shared_auth::leptos::AuthError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    InvalidName(DisplayNameError),
    /// Not one of the user's sessions (or already signed out).
    #[error("That session has already ended.")]
    UnknownSession,
    /// Signed out, cross-site, store down, transport: shared-auth's.
    #[error(transparent)]
    #[serde(untagged)]
    Auth(#[from] AuthError),
}

shared_auth::zone_error!(AccountError);

#[cfg(feature = "ssr")]
impl shared_auth::leptos::ErrorStatus for AccountError {
    /// The HTTP status of a failed call.
    fn status(&self) -> http::StatusCode {
        match self {
            Self::InvalidName(_) => http::StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnknownSession => http::StatusCode::NOT_FOUND,
            Self::Auth(err) => err.status(),
        }
    }
}
