//! `/account-area`: the account summary, or an invitation to sign in.

use contracts::Zone;
use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::session_user;
use shared_auth::return_to::login_href;
use shared_ui::ZoneLink;
use shared_ui::document::page_title;

#[component]
pub fn AccountAreaPage() -> impl IntoView {
    let user = session_user();
    let signed_in = user.is_some();
    let intro = match user {
        Some(user) => view! {
            <p class="lead" data-user=user.username.clone()>
                {format!("Signed in as {} ({}).", user.display_name, user.username)}
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
        <section class="card-grid account-summary">
            <article class="card">
                <h2>"Profile"</h2>
                <p>"Your sign-in name and the name every page greets you with."</p>
                <ZoneLink zone=Zone::Identity path="/profile">"Edit your profile"</ZoneLink>
            </article>
            <article class="card">
                <h2>"Sessions"</h2>
                <p>"Every browser you are signed in with; sign out the ones you do not use."</p>
                <ZoneLink zone=Zone::Identity path="/sessions">"Manage sessions"</ZoneLink>
            </article>
            <article class="card">
                <h2>"Orders"</h2>
                <p>"What you bought in the shop, and your cart."</p>
                <ZoneLink zone=Zone::Shop path="/orders">"Your orders"</ZoneLink>
                " · "
                <ZoneLink zone=Zone::Shop path="/cart">"Your cart"</ZoneLink>
            </article>
        </section>
        {(!signed_in).then(|| view! {
            <p class="muted">"Each of these asks you to sign in first, then brings you back."</p>
        })}
    }
}
