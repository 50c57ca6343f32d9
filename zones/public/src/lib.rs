//! The public zone: the home page, the account area, and every path no
//! other zone owns (the edge's default route).
//!
//! `lib.rs` holds only the route table and the browser entry
//! point; each page lives in `pages/` with its islands.

pub mod pages;

use contracts::Zone;
use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use shared_ui::NotFound;

/// The zone this crate builds.
pub const ZONE: Zone = Zone::Public;

/// The zone's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=pages::home::HomePage />
                <Route path=path!("/account-area") view=pages::account_area::AccountAreaPage />
            </Routes>
        </Router>
    }
}

/// Browser entry point: hydrates this zone's islands (and shared-ui's).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    shared_ui::hydrate::start();
}
