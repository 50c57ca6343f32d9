//! The cart badge in every zone's header, and the cross-zone contract it
//! relies on: the shop zone answers `GET /shop/api/cart/count` (a server
//! function at a stable path) with [`CartBadgeCount`]; this island, hydrated
//! by whichever zone renders the page, fetches it through the edge. No zone
//! imports another: the path and the JSON shape are the whole contract.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Zone;

/// The shop's server function behind the badge.
pub const CART_COUNT_PATH: &str = "/shop/api/cart/count";

/// The browser event an island fires after changing the cart, so the
/// badge on the same page fetches the new count.
pub const CART_CHANGED_EVENT: &str = "meridian-cart-changed";

/// The body of [`CART_COUNT_PATH`]: how many items the signed-in user's
/// cart holds (0 when anonymous).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartBadgeCount {
    pub items: i64,
}

impl CartBadgeCount {
    pub fn new(items: i64) -> Self {
        Self { items }
    }
}

/// Tells the badge on this page that the cart changed (call it from an
/// island after a cart mutation succeeded). Does nothing on the server.
pub fn announce_cart_changed() {
    #[cfg(feature = "hydrate")]
    if let Ok(event) = leptos::web_sys::Event::new(CART_CHANGED_EVENT) {
        let _ = window().dispatch_event(&event);
    }
}

/// A link to the cart with the item count, fetched from the shop zone once
/// the page is hydrated and again whenever [`announce_cart_changed`] fires.
/// Server HTML carries the link without a number (it works without
/// JavaScript; the count is a progressive enhancement).
#[island]
pub fn CartBadge() -> impl IntoView {
    let count = RwSignal::new(None::<i64>);
    #[cfg(feature = "hydrate")]
    {
        let refresh = move || {
            leptos::task::spawn_local(async move {
                if let Some(items) = fetch_count().await {
                    count.set(Some(items));
                }
            })
        };
        Effect::new(move |_| refresh());
        let handle = window_event_listener_untyped(CART_CHANGED_EVENT, move |_| refresh());
        on_cleanup(move || handle.remove());
    }
    let label = move || match count.get() {
        Some(1) => "Cart, 1 item".to_owned(),
        Some(n) => format!("Cart, {n} items"),
        None => "Cart".to_owned(),
    };
    view! {
        <a class="cart-badge" href=Zone::Shop.path("/cart") rel="external" aria-label=label>
            <span class="cart-badge__icon" aria-hidden="true"></span>
            <span class="cart-badge__text">"Cart"</span>
            <span
                class="cart-badge__count"
                data-count=move || count.get().map(|n| n.to_string())
                aria-hidden="true"
            >
                {move || count.get().map(|n| n.to_string())}
            </span>
        </a>
    }
}

#[cfg(feature = "hydrate")]
async fn fetch_count() -> Option<i64> {
    let response = gloo_net::http::Request::get(CART_COUNT_PATH)
        .header("Accept", "application/json")
        .send()
        .await
        .ok()?;
    if !response.ok() {
        return None;
    }
    response
        .json::<CartBadgeCount>()
        .await
        .ok()
        .map(|c| c.items)
}
