//! `/shop`: the catalogue, from the database.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_ui::document::page_title;

use super::LoadError;
use crate::api::list_products;
use crate::model::format_price;
use crate::product_path;

#[component]
pub fn CataloguePage() -> impl IntoView {
    // The same for every anonymous visitor: the edge may cache it.
    shared_ui::cache::public_page(&[crate::CATALOGUE_TAG]);
    let products = Resource::new(|| (), |_| list_products());
    view! {
        <Title text=page_title("Shop") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Shop"</p>
            <h1>"The catalogue"</h1>
            <p class="lead">"Well-made things for every day, shipped from one warehouse."</p>
        </section>
        <Suspense fallback=|| view! { <p>"Loading the catalogue…"</p> }>
            {move || Suspend::new(async move {
                match products.await {
                    Ok(products) => view! {
                        <LayoutSwitch>
                            {products
                                .into_iter()
                                .map(|product| {
                                    view! {
                                        <li class="product">
                                            <h2 class="product__name">
                                                <a href=product_path(&product.slug)>{product.name}</a>
                                            </h2>
                                            <p class="product__description">{product.description}</p>
                                            <p class="product__price">{format_price(product.price_cents)}</p>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </LayoutSwitch>
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Shows the server-rendered product list as a grid or as a compact list.
/// Only the choice lives in the browser; the products stay server HTML.
#[island]
fn LayoutSwitch(children: Children) -> impl IntoView {
    let compact = RwSignal::new(false);
    let pressed = move |want: bool| {
        move || {
            if compact.get() == want {
                "true"
            } else {
                "false"
            }
        }
    };
    view! {
        <div class="layout-switch" role="group" aria-label="Layout">
            <button
                type="button"
                class="layout-switch__option"
                aria-pressed=pressed(false)
                on:click=move |_| compact.set(false)
            >
                "Grid"
            </button>
            <button
                type="button"
                class="layout-switch__option"
                aria-pressed=pressed(true)
                on:click=move |_| compact.set(true)
            >
                "List"
            </button>
        </div>
        <ul class="products" class:products--list=move || compact.get()>
            {children()}
        </ul>
    }
}
