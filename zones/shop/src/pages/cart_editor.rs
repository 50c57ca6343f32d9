//! The cart page's island: a thin enhancer over the server-rendered cart
//! (`cart::CartContents`). Its forms work as plain posts; hydrated, this
//! posts them with `fetch` and writes the new cart into the same markup,
//! so the island ships no view code for the cart, only these few updates.

use leptos::html::Div;
use leptos::prelude::*;
use leptos::web_sys::Element;
use shared_ui::cart_badge::announce_cart_changed;
use shared_ui::dom::{self, go_to, set_text};
use shared_ui::form::{FORM_ERROR, FORM_STATUS, enhance};

use crate::api::{Checkout, RemoveFromCart, UpdateCartItem};
use crate::error::ShopError;
use crate::model::{Cart, format_price};
use crate::order_path;
use shared_auth::leptos::AuthError;

/// The classes the server renders and the island updates.
pub const CART_LINE: &str = "cart-line";
pub const LINE_TOTAL: &str = "cart-line__total";
pub const ITEM_COUNT: &str = "cart__count";
pub const CART_TOTAL: &str = "cart__total";
pub const CART_FULL: &str = "cart-full";
pub const CART_EMPTY: &str = "cart-empty";

/// "3 items" under the cart's lines.
pub fn items_text(count: i64) -> String {
    format!("{count} items")
}

/// Posts the cart's forms with `fetch` once hydrated: an update or removal
/// rewrites the lines, totals and header badge in place; checkout goes to
/// the new order; a signed-out user goes to sign in; a refusal shows its
/// message above the cart.
#[island]
pub fn CartEditor(children: Children) -> impl IntoView {
    let root = NodeRef::<Div>::new();
    let pending = RwSignal::new(false);
    let changed = move |answer: Result<Cart, ShopError>| match answer {
        Ok(cart) => {
            if let Some(root) = root.get_untracked() {
                show_cart(&root, &cart);
            }
            announce_cart_changed();
        }
        Err(err) => refused(root, err),
    };
    let update = enhance::<UpdateCartItem>(pending, changed);
    let remove = enhance::<RemoveFromCart>(pending, changed);
    let checkout = enhance::<Checkout>(pending, move |answer| match answer {
        Ok(id) => go_to(&order_path(&id)),
        Err(err) => refused(root, err),
    });
    view! {
        <div
            class="cart-editor"
            node_ref=root
            on:submit=move |event| {
                update(event.clone());
                remove(event.clone());
                checkout(event);
            }
        >
            {children()}
        </div>
    }
}

/// A refused post: sign in when signed out, else the message.
fn refused(root: NodeRef<Div>, err: ShopError) {
    match err {
        ShopError::Auth(AuthError::Unauthenticated { login_url }) => go_to(&login_url),
        err => {
            if let Some(root) = root.get_untracked() {
                set_text(&root, FORM_ERROR, &err.to_string());
            }
        }
    }
}

/// Writes `cart` into the rendered cart: quantities and totals of the lines
/// still in it, without the lines that are gone, and the empty notice when
/// none is left. A line the page never showed (added in another tab) needs
/// markup only the server renders: then the page is reloaded.
fn show_cart(root: &Element, cart: &Cart) {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::HtmlInputElement;

    set_text(root, FORM_ERROR, "");
    let shown = dom::retain(root, CART_LINE, |row| {
        let slug = row.get_attribute("data-slug").unwrap_or_default();
        let Some(line) = cart.lines.iter().find(|line| line.slug == slug) else {
            return false;
        };
        if let Some(input) = row
            .query_selector("input[name=quantity]")
            .ok()
            .flatten()
            .and_then(|input| input.dyn_into::<HtmlInputElement>().ok())
        {
            input.set_value(&line.quantity.to_string());
        }
        set_text(row, LINE_TOTAL, &format_price(line.total_cents()));
        true
    });
    if shown != cart.lines.len() {
        dom::reload();
        return;
    }
    let (items, total) = (
        items_text(cart.item_count()),
        format_price(cart.total_cents()),
    );
    set_text(
        root,
        FORM_STATUS,
        &format!("Cart updated: {items}, {total}."),
    );
    set_text(root, ITEM_COUNT, &items);
    set_text(root, CART_TOTAL, &total);
    let empty = cart.lines.is_empty();
    dom::set_hidden(root, CART_FULL, empty);
    dom::set_hidden(root, CART_EMPTY, !empty);
}
