//! What a shop server function can refuse, as a typed error the islands
//! show (and plain forms get back in the URL, which the page shows).

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use shared_auth::leptos::AuthError;

use crate::catalogue::MAX_QUANTITY;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ShopError {
    /// Anonymous: sign in first. `login_url` brings the user back.
    #[error("Please sign in to continue.")]
    SignInRequired { login_url: String },
    #[error("This request did not come from this site and was refused.")]
    CrossOrigin,
    #[error("That product is not in the catalogue.")]
    UnknownProduct,
    #[error("Please choose a quantity from 1 to {MAX_QUANTITY}.")]
    InvalidQuantity,
    #[error("Your cart is empty.")]
    EmptyCart,
    #[error("The checkout form was incomplete. Please reload the cart and try again.")]
    MissingCheckoutKey,
    #[error("The service is temporarily unavailable. Please try again.")]
    Unavailable,
    /// The server-function machinery failed (network, decoding).
    #[error("{0}")]
    Transport(String),
}

impl FromServerFnError for ShopError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

impl From<AuthError> for ShopError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthenticated => Self::SignInRequired {
                login_url: shared_auth::return_to::login_href("/shop"),
            },
            AuthError::CrossOrigin => Self::CrossOrigin,
            AuthError::Unavailable => Self::Unavailable,
            AuthError::Transport(message) => Self::Transport(message),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<shared_auth::store::StoreError> for ShopError {
    fn from(err: shared_auth::store::StoreError) -> Self {
        tracing::error!("shop store error: {err}");
        Self::Unavailable
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for ShopError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!("shop database error: {err}");
        Self::Unavailable
    }
}

#[cfg(feature = "ssr")]
impl shared_auth::leptos::ErrorStatus for ShopError {
    /// The HTTP status of a failed call.
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::SignInRequired { .. } => StatusCode::UNAUTHORIZED,
            Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::UnknownProduct => StatusCode::NOT_FOUND,
            Self::InvalidQuantity | Self::EmptyCart | Self::MissingCheckoutKey => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Transport(_) => StatusCode::BAD_REQUEST,
        }
    }
}
