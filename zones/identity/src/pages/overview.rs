//! `/auth`: what the identity zone does, and how one sign-in reaches every zone.

use contracts::Zone;
use contracts::zone::AuthPath;
use leptos::prelude::*;
use leptos_meta::Title;
use shared_ui::ZoneLink;
use shared_ui::document::page_title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    view! {
        <Title text=page_title("Sign in") />
        <section class="hero">
            <p class="eyebrow">"Identity"</p>
            <h1>"One sign-in for the whole site"</h1>
            <p class="lead">
                "The identity zone owns signing in and out. It sets one first-party session \
                 cookie; the shop and public zones read the same session from the shared \
                 store, without ever calling the identity provider themselves."
            </p>
        </section>
        <section class="card-grid">
            <article class="card">
                <h2>"Owned paths"</h2>
                <ul class="plain-list">
                    {Zone::Identity
                        .prefixes()
                        .iter()
                        .map(|prefix| view! { <li><code>{format!("{prefix}/…")}</code></li> })
                        .collect_view()}
                </ul>
            </article>
            <article class="card">
                <h2>"Signed in elsewhere?"</h2>
                <p>"Your session follows you to every zone of the site."</p>
                <p>
                    <ZoneLink zone=Zone::Public path="/account-area">"Go to your account area"</ZoneLink>
                </p>
            </article>
        </section>
        <SignInSteps />
    }
}

/// The steps of the sign-in flow, as a disclosure the reader opens on demand.
#[island]
fn SignInSteps() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <section class="disclosure" class:disclosure--open=move || open.get()>
            <button
                type="button"
                class="disclosure__toggle"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-controls="sign-in-steps"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || if open.get() { "Hide how sign-in works" } else { "How does sign-in work?" }}
            </button>
            <ol id="sign-in-steps" class="steps" hidden=move || !open.get()>
                <li>"A protected page sends you to " <code>{AuthPath::Login.path()}</code> " with the page to come back to."</li>
                <li>"Identity starts an authorization-code flow with PKCE at the identity provider."</li>
                <li>"You sign in there; the provider redirects back to " <code>{AuthPath::Callback.path()}</code> "."</li>
                <li>"Identity exchanges the code, creates a session and sets the session cookie."</li>
                <li>"Every zone now resolves the same cookie to you through the shared session store."</li>
            </ol>
        </section>
    }
}
