//! `/shop/orders`: the signed-in user's orders. Anonymous visitors are sent
//! to sign in and brought back here.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::require_user_page;
use shared_ui::document::page_title;
use shared_ui::{Zone, ZoneLink};

#[component]
pub fn OrdersPage() -> impl IntoView {
    let Some(user) = require_user_page() else {
        return view! { <p>"Redirecting to sign-in…"</p> }.into_any();
    };
    view! {
        <Title text=page_title("Your orders") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Shop"</p>
            <h1>"Your orders"</h1>
            <p class="lead" data-user=user.username.clone()>
                {format!("Signed in as {}.", user.display_name)}
            </p>
        </section>
        <section class="card">
            <h2>"No orders yet"</h2>
            <p>"Orders you place in the shop appear here."</p>
            <ZoneLink zone=Zone::Shop>"Browse the catalogue"</ZoneLink>
        </section>
    }
    .into_any()
}
