//! The identity zone: everything under `/auth`.
//!
//! `lib.rs` holds only the route table and the browser entry
//! point; each page lives in `pages/` with its islands.

pub mod api;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod sign_in_failure;

use contracts::Zone;
use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};
use shared_ui::NotFound;

/// The zone this crate builds.
pub const ZONE: Zone = Zone::Identity;

/// The zone's routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/auth") view=pages::overview::OverviewPage />
                <Route path=path!("/auth/logout") view=pages::logout::LogoutPage />
                <Route path=path!("/auth/error") view=pages::error::SignInErrorPage />
                <Route path=path!("/auth/signed-out") view=pages::signed_out::SignedOutPage />
                <Route path=path!("/auth/profile") view=pages::profile::ProfilePage ssr=SsrMode::Async />
                <Route path=path!("/auth/sessions") view=pages::sessions::SessionsPage ssr=SsrMode::Async />
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
