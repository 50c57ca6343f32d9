//! The shop zone: everything under `/shop`.
//!
//! `lib.rs` holds only the shell, the route table and the browser entry
//! point; each page lives in `pages/` with its islands.

pub mod catalogue;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use shared_ui::{Document, NotFound, Zone};

/// The zone this crate builds.
pub const ZONE: Zone = Zone::Shop;

/// The HTML document around every page of this zone.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <Document options zone=ZONE>
            <App />
        </Document>
    }
}

/// The zone's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/shop") view=pages::catalogue::CataloguePage />
                <Route path=path!("/shop/orders") view=pages::orders::OrdersPage />
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
