//! What a shop server function can refuse, as a typed error the islands
//! show (and plain forms get back in the URL, which the page shows).

use serde::{Deserialize, Serialize};
use shared_auth::leptos::AuthError;

use crate::model::MAX_QUANTITY;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ShopError {
    #[error("That product is not in the catalogue.")]
    UnknownProduct,
    #[error("Please choose a quantity from 1 to {MAX_QUANTITY}.")]
    InvalidQuantity,
    #[error("Your cart is empty.")]
    EmptyCart,
    #[error("The checkout form was incomplete. Please reload the cart and try again.")]
    MissingCheckoutKey,
    /// Signed out (its `login_url` brings the user back to the shop),
    /// cross-site, store down, transport: shared-auth's.
    #[error(transparent)]
    #[serde(untagged)]
    Auth(#[from] AuthError),
}

shared_auth::zone_error!(ShopError);

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for ShopError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!("shop database error: {err}");
        Self::Auth(AuthError::Unavailable)
    }
}

#[cfg(feature = "ssr")]
impl shared_auth::leptos::ErrorStatus for ShopError {
    /// The HTTP status of a failed call.
    fn status(&self) -> http::StatusCode {
        match self {
            Self::UnknownProduct => http::StatusCode::NOT_FOUND,
            Self::InvalidQuantity | Self::EmptyCart | Self::MissingCheckoutKey => {
                http::StatusCode::UNPROCESSABLE_ENTITY
            }
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
            let wire = serde_json::to_string(&ShopError::Auth(auth.clone())).unwrap();
            assert_eq!(wire, serde_json::to_string(&auth).unwrap());
            assert_eq!(
                serde_json::from_str::<ShopError>(&wire).unwrap(),
                ShopError::Auth(auth),
                "{wire}"
            );
        }
    }
}
