//! The shop's server functions, at stable paths under `/shop/api/`. Each
//! reads the shared session through shared-auth; cross-site mutations never
//! reach them (the zone runtime's `shared_auth::guard` refuses them). Islands call them with `fetch`; without
//! JavaScript the same forms post to them and come back to the page.

use contracts::cart::CartBadgeCount;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::ShopError;
use crate::model::{AddedToCart, Cart, Order, OrderSummary, Product};
#[cfg(feature = "ssr")]
use crate::server::{db, pending, shop_pool};

/// Adds a product to the signed-in user's cart. An anonymous visitor's
/// intent is kept for a quarter of an hour and they are sent to sign in;
/// after sign-in the item is in the cart and they are back on the product.
#[server(prefix = "/shop/api", endpoint = "cart/add")]
pub async fn add_to_cart(
    #[server(default)] slug: String,
    #[server(default)] quantity: String,
) -> Result<AddedToCart, ShopError> {
    let quantity = parse_quantity(&quantity)?;
    let pool = shop_pool()?;
    let Some(user) = shared_auth::leptos::session_user() else {
        // Refuse unknown products before asking anyone to sign in.
        if db::product(&pool, &slug).await?.is_none() {
            return Err(ShopError::UnknownProduct);
        }
        let login_url = pending::remember(&slug, quantity).await?;
        return Ok(AddedToCart::SignInFirst { login_url });
    };
    db::add_to_cart(&pool, &user.id, &slug, quantity).await?;
    let items = db::cart_count(&pool, &user.id).await?;
    Ok(AddedToCart::Added { items })
}

/// Sets the quantity of a cart line; returns the whole cart.
#[server(prefix = "/shop/api", endpoint = "cart/update")]
pub async fn update_cart_item(
    #[server(default)] slug: String,
    #[server(default)] quantity: String,
) -> Result<Cart, ShopError> {
    let user = shared_auth::leptos::require_user()?;
    let quantity = parse_quantity(&quantity)?;
    let pool = shop_pool()?;
    db::set_quantity(&pool, &user.id, &slug, quantity).await?;
    db::cart(&pool, &user.id).await
}

/// Removes a cart line; returns the whole cart.
#[server(prefix = "/shop/api", endpoint = "cart/remove")]
pub async fn remove_from_cart(#[server(default)] slug: String) -> Result<Cart, ShopError> {
    let user = shared_auth::leptos::require_user()?;
    let pool = shop_pool()?;
    db::remove_from_cart(&pool, &user.id, &slug).await?;
    db::cart(&pool, &user.id).await
}

/// Places the order for the cart. `checkout_key` comes with the cart page:
/// the same key twice (double click, retry) returns the same order. A
/// plain form post is sent on to the order's page.
#[server(prefix = "/shop/api", endpoint = "cart/checkout")]
pub async fn checkout(#[server(default)] checkout_key: String) -> Result<String, ShopError> {
    let user = shared_auth::leptos::require_user()?;
    let pool = shop_pool()?;
    let id = db::checkout(&pool, &user.id, &checkout_key).await?;
    shared_auth::leptos::redirect_plain_form(&crate::order_path(&id));
    Ok(id)
}

/// The catalogue, in display order.
#[server(prefix = "/shop/api", endpoint = "products", input = GetUrl)]
pub async fn list_products() -> Result<Vec<Product>, ShopError> {
    db::products(&shop_pool()?).await
}

/// One product, or `None` for an unknown slug.
#[server(prefix = "/shop/api", endpoint = "product", input = GetUrl)]
pub async fn get_product(#[server(default)] slug: String) -> Result<Option<Product>, ShopError> {
    db::product(&shop_pool()?, &slug).await
}

/// The signed-in user's orders, newest first.
#[server(prefix = "/shop/api", endpoint = "orders", input = GetUrl)]
pub async fn list_orders() -> Result<Vec<OrderSummary>, ShopError> {
    let user = shared_auth::leptos::require_user()?;
    db::orders(&shop_pool()?, &user.id).await
}

/// One of the signed-in user's orders; `None` when it does not exist or
/// belongs to someone else (the two are indistinguishable).
#[server(prefix = "/shop/api", endpoint = "order", input = GetUrl)]
pub async fn get_order(#[server(default)] id: String) -> Result<Option<Order>, ShopError> {
    let user = shared_auth::leptos::require_user()?;
    db::order(&shop_pool()?, &user.id, &id).await
}

/// The signed-in user's cart.
#[server(prefix = "/shop/api", endpoint = "cart")]
pub async fn get_cart() -> Result<Cart, ShopError> {
    let user = shared_auth::leptos::require_user()?;
    db::cart(&shop_pool()?, &user.id).await
}

/// The header's cart badge, for every zone: how many items the signed-in
/// user's cart holds (0 when anonymous). Its path is the cross-zone
/// contract [`contracts::cart::CART_COUNT_PATH`].
#[server(prefix = "/shop/api", endpoint = "cart/count", input = GetUrl)]
pub async fn cart_count() -> Result<CartBadgeCount, ShopError> {
    let Some(user) = shared_auth::leptos::session_user() else {
        return Ok(CartBadgeCount::new(0));
    };
    Ok(CartBadgeCount::new(
        db::cart_count(&shop_pool()?, &user.id).await?,
    ))
}

/// A quantity as typed in a form: a whole number from 1 to the maximum.
pub fn parse_quantity(raw: &str) -> Result<i64, ShopError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (1..=crate::model::MAX_QUANTITY).contains(q))
        .ok_or(ShopError::InvalidQuantity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_numbers_in_range() {
        assert_eq!(parse_quantity(" 3 "), Ok(3));
        assert_eq!(parse_quantity("99"), Ok(99));
        for bad in [
            "0",
            "100",
            "-1",
            "2.5",
            "",
            "lots",
            "9999999999999999999999",
        ] {
            assert_eq!(
                parse_quantity(bad),
                Err(ShopError::InvalidQuantity),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_badge_endpoint_is_the_cross_zone_contract() {
        assert_eq!(
            <CartCount as leptos::server_fn::ServerFn>::PATH,
            contracts::cart::CART_COUNT_PATH
        );
    }
}
