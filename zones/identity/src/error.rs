//! What an account server function can refuse, as a typed error the
//! islands show (and plain forms get back in the URL).

use contracts::user::DisplayNameError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use shared_auth::leptos::AuthError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AccountError {
    /// Signed out meanwhile (or never signed in).
    #[error("Please sign in to continue.")]
    SignInRequired,
    #[error("This request did not come from this site and was refused.")]
    CrossOrigin,
    #[error("{0}")]
    InvalidName(DisplayNameError),
    /// Not one of the user's sessions (or already signed out).
    #[error("That session has already ended.")]
    UnknownSession,
    #[error("The service is temporarily unavailable. Please try again.")]
    Unavailable,
    #[error("{0}")]
    Transport(String),
}

impl FromServerFnError for AccountError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

impl From<AuthError> for AccountError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthenticated => Self::SignInRequired,
            AuthError::CrossOrigin => Self::CrossOrigin,
            AuthError::Unavailable => Self::Unavailable,
            AuthError::Transport(message) => Self::Transport(message),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<shared_auth::store::StoreError> for AccountError {
    fn from(err: shared_auth::store::StoreError) -> Self {
        tracing::error!("account store error: {err}");
        Self::Unavailable
    }
}

#[cfg(feature = "ssr")]
impl shared_auth::leptos::ErrorStatus for AccountError {
    /// The HTTP status of a failed call.
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::SignInRequired => StatusCode::UNAUTHORIZED,
            Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::InvalidName(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnknownSession => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Transport(_) => StatusCode::BAD_REQUEST,
        }
    }
}
