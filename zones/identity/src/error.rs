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

#[cfg(test)]
mod tests {
    use super::*;

    /// The zone's own variants are tried first when an error is read back:
    /// none of them may take an `AuthError`'s place on the wire.
    #[test]
    fn every_auth_error_reads_back_as_itself() {
        for auth in [
            AuthError::Unauthenticated {
                login_url: "/auth/login?return_to=/".into(),
            },
            AuthError::CrossOrigin,
            AuthError::Unavailable,
            AuthError::Transport("timed out".into()),
        ] {
            let wire = serde_json::to_string(&AccountError::Auth(auth.clone())).unwrap();
            assert_eq!(wire, serde_json::to_string(&auth).unwrap());
            assert_eq!(
                serde_json::from_str::<AccountError>(&wire).unwrap(),
                AccountError::Auth(auth),
                "{wire}"
            );
        }
    }
}
