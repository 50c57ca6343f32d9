//! The cart badge in every zone's header. The path it fetches, the JSON it
//! reads and the event it listens for are the cross-zone contract in
//! `contracts::cart`.

#[cfg(feature = "hydrate")]
use contracts::cart::{CART_CHANGED_EVENT, CART_COUNT_PATH, CartBadgeCount};
use leptos::prelude::*;

use contracts::Zone;

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
