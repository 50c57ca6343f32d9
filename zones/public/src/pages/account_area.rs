//! `/account-area`: the account summary, or an invitation to sign in.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_ui::document::page_title;
use shared_ui::{Zone, ZoneLink};

#[component]
pub fn AccountAreaPage() -> impl IntoView {
    view! {
        <Title text=page_title("Account area") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Account area"</p>
            <h1>"Your account"</h1>
            <p class="lead">
                "Sign in once and your profile, sessions and orders are here, whichever \
                 zone you came from."
            </p>
            <p>
                <ZoneLink zone=Zone::Identity class="button">"Sign in"</ZoneLink>
            </p>
        </section>
        <section class="card-grid">
            <article class="card">
                <h2>"Shopping"</h2>
                <p>"Orders and the cart live in the shop zone."</p>
                <ZoneLink zone=Zone::Shop>"Go to the shop"</ZoneLink>
            </article>
            <article class="card">
                <h2>"Sign-in"</h2>
                <p>"Sessions and your profile live in the identity zone."</p>
                <ZoneLink zone=Zone::Identity>"Go to identity"</ZoneLink>
            </article>
        </section>
    }
}
