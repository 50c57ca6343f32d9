//! `/account-area`: the account summary, or an invitation to sign in.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::session_user;
use shared_auth::return_to::login_href;
use shared_ui::document::page_title;
use shared_ui::{Zone, ZoneLink};

#[component]
pub fn AccountAreaPage() -> impl IntoView {
    let intro = match session_user() {
        Some(user) => view! {
            <p class="lead" data-user=user.username.clone()>
                {format!("Signed in as {} ({}).", user.display_name, user.username)}
            </p>
            <p>
                <ZoneLink zone=Zone::Shop path="/orders" class="button">"Your orders"</ZoneLink>
            </p>
        }
        .into_any(),
        None => view! {
            <p class="lead">
                "Sign in once and your profile, sessions and orders are here, whichever \
                 zone you came from."
            </p>
            <p>
                <a class="button" href=login_href("/account-area") rel="external">"Sign in"</a>
            </p>
        }
        .into_any(),
    };
    view! {
        <Title text=page_title("Account area") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Account area"</p>
            <h1>"Your account"</h1>
            {intro}
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
