//! `/shop/cart`: the signed-in user's cart, editable, and checkout.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::require_user_page;
use shared_ui::cart_badge::announce_cart_changed;
use shared_ui::document::page_title;

use super::{LoadError, error_text, go_to};
use crate::api::{Checkout, RemoveFromCart, UpdateCartItem, get_cart};
use crate::error::ShopError;
use crate::model::{Cart, MAX_QUANTITY, format_price};
use crate::{order_path, product_path};
use shared_auth::leptos::AuthError;

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
                    Ok(cart) => view! { <CartEditor cart checkout_key=checkout_key() /> }.into_any(),
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
/// checkout button. Hydrated, each form updates the cart in place (and the
/// header badge); without JavaScript, each is a plain form that reloads
/// the page.
#[island]
fn CartEditor(cart: Cart, checkout_key: String) -> impl IntoView {
    let cart = RwSignal::new(cart);
    let checkout_key = StoredValue::new(checkout_key);
    let update = ServerAction::<UpdateCartItem>::new();
    let remove = ServerAction::<RemoveFromCart>::new();
    let checkout = ServerAction::<Checkout>::new();
    for value in [update.value(), remove.value()] {
        Effect::new(move |_| match value.get() {
            Some(Ok(new_cart)) => {
                cart.set(new_cart);
                announce_cart_changed();
            }
            Some(Err(ShopError::Auth(AuthError::Unauthenticated { login_url }))) => {
                go_to(&login_url)
            }
            _ => {}
        });
    }
    Effect::new(move |_| match checkout.value().get() {
        Some(Ok(id)) => go_to(&order_path(&id)),
        Some(Err(ShopError::Auth(AuthError::Unauthenticated { login_url }))) => go_to(&login_url),
        _ => {}
    });
    let error = move || {
        error_text(update.value().get())
            .or_else(|| error_text(remove.value().get()))
            .or_else(|| error_text(checkout.value().get()))
    };
    let lines = move || {
        cart.get()
            .lines
            .into_iter()
            .map(|line| {
                let total = format_price(line.total_cents());
                let href = product_path(&line.slug);
                let input_id = format!("qty-{}", line.slug);
                let label = format!("Quantity of {}", line.name);
                let (slug_row, slug_update, slug_remove) =
                    (line.slug.clone(), line.slug.clone(), line.slug.clone());
                view! {
                    <tr class="cart-line" data-slug=slug_row>
                        <th scope="row"><a href=href>{line.name}</a></th>
                        <td class="num">{format_price(line.price_cents)}</td>
                        <td>
                            <ActionForm action=update attr:class="cart-line__quantity">
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
                            </ActionForm>
                        </td>
                        <td class="num cart-line__total">{total}</td>
                        <td>
                            <ActionForm action=remove>
                                <input type="hidden" name="slug" value=slug_remove />
                                <button type="submit" class="button button--small button--ghost">
                                    "Remove"
                                </button>
                            </ActionForm>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <p class="form-error" role="alert">{error}</p>
        <Show
            when=move || cart.with(|c| !c.lines.is_empty())
            fallback=|| view! {
                <section class="card cart-empty">
                    <h2>"Your cart is empty"</h2>
                    <p><a href=crate::ZONE.home()>"Browse the catalogue"</a></p>
                </section>
            }
        >
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
                        <th scope="row" colspan="3">
                            {move || format!("{} items", cart.with(Cart::item_count))}
                        </th>
                        <td class="num cart__total">{move || format_price(cart.with(Cart::total_cents))}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
            <ActionForm action=checkout attr:class="checkout">
                <input type="hidden" name="checkout_key" value=checkout_key.get_value() />
                <button type="submit" class="button" disabled=move || checkout.pending().get()>
                    "Place order"
                </button>
            </ActionForm>
        </Show>
    }
}
