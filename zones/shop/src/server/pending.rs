//! "Add to cart" before signing in: the intent is kept server-side for a
//! quarter of an hour (a single-use grant) and bound to this browser by a
//! cookie only a same-origin POST can set. After sign-in, identity sends
//! the browser to [`resume_path`], which adds the item and returns to the
//! product. A link alone cannot add anything to anyone's cart.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use http::header::{HeaderMap, SET_COOKIE};
use serde::{Deserialize, Serialize};
use shared_auth::auth::{Auth, MaybeUser, found, login_redirect};
use shared_auth::cookie::{token_cookie, unique_token};
use shared_auth::return_to::login_href;
use shared_auth::token::random_token;

use super::db;
use crate::error::ShopError;

/// Where sign-in returns to, to finish a pending "add to cart".
/// `/shop/cart/resume`.
pub fn resume_path() -> String {
    crate::ZONE.path("/cart/resume")
}
const GRANT: &str = "shop.pending-add";
const COOKIE: &str = "shop.pending-add";
/// The pending-add cookie is sent to the shop's pages only.
const COOKIE_PATH: &str = crate::ZONE.home();
const TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Serialize, Deserialize)]
struct PendingAdd {
    slug: String,
    quantity: i64,
}

/// Keeps an anonymous visitor's "add to cart" and returns where to sign in
/// (a plain form post is redirected there at once).
pub async fn remember(slug: &str, quantity: i64) -> Result<String, ShopError> {
    let auth = shared_auth::leptos::auth()?;
    let token = random_token(24);
    let pending = PendingAdd {
        slug: slug.to_owned(),
        quantity,
    };
    auth.store().put_grant(GRANT, &token, &pending, TTL).await?;
    let max_age = i64::try_from(TTL.as_secs()).unwrap_or(900);
    let secure = auth.config().cookie_secure();
    shared_auth::leptos::append_set_cookie(&token_cookie(
        COOKIE,
        &token,
        COOKIE_PATH,
        max_age,
        secure,
    ));
    let login_url = login_href(&resume_path());
    shared_auth::leptos::redirect_plain_form(&login_url);
    Ok(login_url)
}

/// `GET /shop/cart/resume`: adds the pending item (if this browser has
/// one) and goes back to its product page, or to the cart.
pub async fn resume(
    State(auth): State<Auth>,
    MaybeUser(user): MaybeUser,
    uri: http::Uri,
    headers: HeaderMap,
) -> Response {
    let Some(user) = user else {
        return login_redirect(&uri);
    };
    let Some(token) = unique_token(&headers, COOKIE) else {
        return found(&crate::cart_path());
    };
    let location = match auth.store().take_grant::<PendingAdd>(GRANT, token).await {
        Ok(Some(pending)) => {
            let pool = auth.store().pool();
            match db::add_to_cart(pool, &user.id, &pending.slug, pending.quantity).await {
                Ok(()) => format!(
                    "{}?added={}",
                    crate::product_path(&pending.slug),
                    pending.quantity
                ),
                Err(err) => {
                    tracing::info!("pending add to cart not applied: {err}");
                    crate::cart_path()
                }
            }
        }
        Ok(None) => crate::cart_path(),
        Err(err) => {
            tracing::error!("cannot read a pending add to cart: {err}");
            crate::cart_path()
        }
    };
    let clear = token_cookie(COOKIE, "", COOKIE_PATH, 0, auth.config().cookie_secure());
    let mut response = found(&location);
    if let Ok(value) = http::HeaderValue::from_str(&clear) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response.into_response()
}
