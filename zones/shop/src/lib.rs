//! The shop zone: everything under `/shop`.
//!
//! `lib.rs` holds only the route table and the browser entry
//! point; each page lives in `pages/` with its islands, the server
//! functions in `api.rs`, the queries in `server/`.

pub mod api;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

use contracts::Zone;
use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use shared_ui::NotFound;

/// The zone this crate builds.
pub const ZONE: Zone = Zone::Shop;

/// The `Cache-Tag` of every page that shows the catalogue (its list and
/// each product), for `POST /_edge/purge {"tag": "catalogue"}` after the
/// products change.
pub const CATALOGUE_TAG: &str = "catalogue";

/// The zone's routes. Pages that read the database render in one piece
/// (`SsrMode::Async`): complete HTML without JavaScript, and a real 404
/// status for unknown products and other people's orders.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/shop") view=pages::catalogue::CataloguePage ssr=SsrMode::Async />
                <Route path=path!("/shop/p/:slug") view=pages::product::ProductPage ssr=SsrMode::Async />
                <Route path=path!("/shop/cart") view=pages::cart::CartPage ssr=SsrMode::Async />
                <Route path=path!("/shop/orders") view=pages::orders::OrdersPage ssr=SsrMode::Async />
                <Route path=path!("/shop/orders/:id") view=pages::order::OrderPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// `/shop/p/<slug>`.
pub fn product_path(slug: &str) -> String {
    ZONE.path(&format!("/p/{slug}"))
}

/// `/shop/cart`.
pub fn cart_path() -> String {
    ZONE.path("/cart")
}

/// `/shop/orders`.
pub fn orders_path() -> String {
    ZONE.path("/orders")
}

/// `/shop/orders/<id>`.
pub fn order_path(id: &str) -> String {
    ZONE.path(&format!("/orders/{id}"))
}

/// Browser entry point: hydrates this zone's islands (and shared-ui's).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    shared_ui::hydrate::start();
}
