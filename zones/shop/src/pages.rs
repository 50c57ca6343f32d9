//! One module per route, plus the bits several pages share.

pub mod cart;
mod cart_editor;
pub mod catalogue;
pub mod order;
pub mod orders;
pub mod product;

use leptos::prelude::*;

use crate::error::ShopError;

/// A server function's error where a page's data should be.
#[component]
pub fn LoadError(error: ShopError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    shared_auth::leptos::set_page_error_status(&error);
    view! {
        <section class="card card--error" role="alert">
            <h2>"Something went wrong"</h2>
            <p>{error.to_string()}</p>
        </section>
    }
}
