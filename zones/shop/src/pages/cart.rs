//! `/shop/cart`: the signed-in user's cart, editable, and checkout.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;
use shared_auth::leptos::require_user_page;
use shared_ui::document::page_title;
use shared_ui::form::{FORM_ERROR, FORM_STATUS, plain_post_error};

use super::LoadError;
use super::cart_editor::{
    CART_EMPTY, CART_FULL, CART_LINE, CART_TOTAL, CartEditor, ITEM_COUNT, LINE_TOTAL, items_text,
};
use crate::api::{Checkout, RemoveFromCart, UpdateCartItem, get_cart};
use crate::model::{Cart, MAX_QUANTITY, format_price};
use crate::product_path;

#[component]
pub fn CartPage() -> impl IntoView {
    if require_user_page().is_none() {
        return view! { <p>"Redirecting to sign-in…"</p> }.into_any();
    }
    let cart = Resource::new(|| (), |_| get_cart());
    view! {
        <Title text=page_title("Your cart") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Shop"</p>
            <h1>"Your cart"</h1>
        </section>
        <Suspense fallback=|| view! { <p>"Loading your cart…"</p> }>
            {move || Suspend::new(async move {
                match cart.await {
                    Ok(cart) => view! {
                        <CartEditor>
                            <CartContents cart checkout_key=checkout_key() />
                        </CartEditor>
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// A fresh key per rendering of the cart: submitting the same checkout form
/// twice places one order.
fn checkout_key() -> String {
    #[cfg(feature = "ssr")]
    {
        shared_auth::token::random_token(18)
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// The cart's lines with quantity and remove forms, the total and the
/// checkout button, rendered on the server only: plain forms that reload
/// the page without JavaScript, and that [`CartEditor`] posts with `fetch`
/// and updates in place once hydrated. The empty-cart notice is rendered
/// too (hidden while there are lines) for the editor to show.
#[component]
fn CartContents(cart: Cart, checkout_key: String) -> impl IntoView {
    // The message a plain post came back with.
    let error = plain_post_error::<UpdateCartItem>()
        .or_else(plain_post_error::<RemoveFromCart>)
        .or_else(plain_post_error::<Checkout>);
    let empty = cart.lines.is_empty();
    let item_count = cart.item_count();
    let total = format_price(cart.total_cents());
    let lines = cart
        .lines
        .into_iter()
        .map(|line| {
            let total = format_price(line.total_cents());
            let href = product_path(&line.slug);
            let input_id = format!("qty-{}", line.slug);
            let label = format!("Quantity of {}", line.name);
            let (slug_row, slug_update, slug_remove) =
                (line.slug.clone(), line.slug.clone(), line.slug);
            view! {
                <tr class=CART_LINE data-slug=slug_row>
                    <th scope="row"><a href=href>{line.name}</a></th>
                    <td class="num">{format_price(line.price_cents)}</td>
                    <td>
                        <form method="post" action=UpdateCartItem::PATH class="cart-line__quantity">
                            <input type="hidden" name="slug" value=slug_update />
                            <label class="visually-hidden" for=input_id.clone()>{label}</label>
                            <input
                                id=input_id
                                class="field__input field__input--narrow"
                                type="number"
                                name="quantity"
                                value=line.quantity.to_string()
                                min="1"
                                max=MAX_QUANTITY.to_string()
                                required
                            />
                            <button type="submit" class="button button--small button--ghost">"Update"</button>
                        </form>
                    </td>
                    <td class=format!("num {LINE_TOTAL}")>{total}</td>
                    <td>
                        <form method="post" action=RemoveFromCart::PATH>
                            <input type="hidden" name="slug" value=slug_remove />
                            <button type="submit" class="button button--small button--ghost">
                                "Remove"
                            </button>
                        </form>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class=FORM_ERROR role="alert">{error}</p>
        <p class=format!("visually-hidden {FORM_STATUS}") role="status"></p>
        <div class=CART_FULL hidden=empty>
            <table class="cart">
                <thead>
                    <tr>
                        <th scope="col">"Product"</th>
                        <th scope="col" class="num">"Price"</th>
                        <th scope="col">"Quantity"</th>
                        <th scope="col" class="num">"Total"</th>
                        <th scope="col"><span class="visually-hidden">"Remove"</span></th>
                    </tr>
                </thead>
                <tbody>{lines}</tbody>
                <tfoot>
                    <tr>
                        <th scope="row" colspan="3" class=ITEM_COUNT>{items_text(item_count)}</th>
                        <td class=format!("num {CART_TOTAL}")>{total}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
            <form method="post" action=Checkout::PATH class="checkout">
                <input type="hidden" name="checkout_key" value=checkout_key />
                <button type="submit" class="button">"Place order"</button>
            </form>
        </div>
        <section class=format!("card {CART_EMPTY}") hidden=!empty>
            <h2>"Your cart is empty"</h2>
            <p><a href=crate::ZONE.home()>"Browse the catalogue"</a></p>
        </section>
    }
}
