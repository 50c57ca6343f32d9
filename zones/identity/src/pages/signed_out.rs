//! `GET /auth/signed-out`: where the identity provider sends the browser
//! back after its own sign-out (RP-initiated logout), in the shared shell.

use contracts::Zone;
use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::return_to::login_href;
use shared_ui::ZoneLink;
use shared_ui::document::page_title;

#[component]
pub fn SignedOutPage() -> impl IntoView {
    view! {
        <Title text=page_title("Signed out") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Sign out"</p>
            <h1>"You are signed out"</h1>
            <p class="lead">
                "Your Meridian session has ended in every zone, and so has your session at the \
                 identity provider: signing in again asks who you are."
            </p>
            <p class="hero__actions">
                <a class="button" href=login_href("/")>"Sign in again"</a>
                " "
                <ZoneLink zone=Zone::Public class="button button--ghost">"Go to the home page"</ZoneLink>
            </p>
        </section>
    }
}
