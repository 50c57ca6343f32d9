//! `/shop/p/<slug>`: one product and the add-to-cart island. Unknown slugs
//! get the 404 page.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use shared_ui::NotFound;
use shared_ui::cart_badge::announce_cart_changed;
use shared_ui::document::page_title;
use shared_ui::dom::go_to;
use shared_ui::form::{enhance, plain_post_error};

use super::LoadError;
use crate::api::{AddToCart, get_product};
use crate::model::{AddedToCart, MAX_QUANTITY, format_price};

#[component]
pub fn ProductPage() -> impl IntoView {
    // The same for every anonymous visitor: the edge may cache it.
    shared_ui::cache::public_page(&[crate::CATALOGUE_TAG]);
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    // Set by the return from sign-in after an anonymous "add to cart".
    let added = move || {
        query
            .read()
            .get("added")
            .and_then(|n| n.parse::<i64>().ok())
    };
    let product = Resource::new(slug, get_product);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(Some(product)) => view! {
                        <Title text=page_title(&product.name) />
                        <nav class="breadcrumbs" aria-label="Breadcrumbs">
                            <a href=crate::ZONE.home()>"Catalogue"</a>
                            " / "
                            <span aria-current="page">{product.name.clone()}</span>
                        </nav>
                        <article class="product-detail" data-slug=product.slug.clone()>
                            <h1>{product.name.clone()}</h1>
                            <p class="product-detail__price">{format_price(product.price_cents)}</p>
                            <p class="lead">{product.description.clone()}</p>
                            {added().map(|n| view! {
                                <p class="notice" role="status">
                                    {format!("Added {n} to your cart. ")}
                                    <a href=crate::cart_path()>"View your cart"</a>
                                </p>
                            })}
                            <AddToCartForm
                                slug=product.slug.clone()
                                error={plain_post_error::<AddToCart>()}
                            />
                        </article>
                    }
                    .into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Quantity and "Add to cart". Hydrated: posts with `fetch`, updates the
/// header badge, and sends an anonymous visitor to sign in. Not hydrated:
/// a plain form to the same server function. `error`: what a plain post
/// came back with.
#[island]
fn AddToCartForm(slug: String, error: Option<String>) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let error = RwSignal::new(error);
    let pending = RwSignal::new(false);
    let submit = enhance::<AddToCart>(pending, move |answer| {
        let (said, failed) = match answer {
            Ok(AddedToCart::Added { items }) => {
                announce_cart_changed();
                (Some(format!("Added. Your cart holds {items} items.")), None)
            }
            Ok(AddedToCart::SignInFirst { login_url }) => {
                go_to(&login_url);
                (Some("Taking you to sign in…".to_owned()), None)
            }
            Err(err) => (None, Some(err.to_string())),
        };
        status.set(said);
        error.set(failed);
    });
    view! {
        <form method="post" action=AddToCart::PATH class="add-to-cart" on:submit=submit>
            <input type="hidden" name="slug" value=slug />
            <label class="field field--inline">
                <span class="field__label">"Quantity"</span>
                <input
                    class="field__input field__input--narrow"
                    type="number"
                    name="quantity"
                    value="1"
                    min="1"
                    max=MAX_QUANTITY.to_string()
                    required
                />
            </label>
            <button type="submit" class="button">"Add to cart"</button>
        </form>
        <p class="form-status" role="status">{status}</p>
        <p class="form-error" role="alert">{move || error.get()}</p>
    }
}
