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

/// The message of the last failed action, for a form's status line.
pub fn error_text<T>(result: Option<Result<T, ShopError>>) -> Option<String> {
    match result {
        Some(Err(err)) => Some(err.to_string()),
        _ => None,
    }
}

/// Sends the browser to `url` (a full page load). Only ever called from
/// islands' effects, which run in the browser.
pub fn go_to(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}
