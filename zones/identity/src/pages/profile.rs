//! `/auth/profile`: who you are, and the display name every zone's header
//! shows, editable.

use contracts::user::DISPLAY_NAME_MAX_CHARS;
use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;
use shared_auth::leptos::require_user_page;
use shared_ui::document::page_title;
use shared_ui::form::{enhance, plain_post_error};

use crate::api::SetDisplayName;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let Some(user) = require_user_page() else {
        return view! { <p>"Redirecting to sign-in…"</p> }.into_any();
    };
    view! {
        <Title text=page_title("Profile") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Identity"</p>
            <h1>"Your profile"</h1>
            <p class="lead">"Your sign-in name comes from the identity provider; the name others see is yours to choose."</p>
        </section>
        <section class="card profile">
            <dl class="facts">
                <dt>"Sign-in name"</dt>
                <dd class="profile__username">{user.username.clone()}</dd>
                <dt>"Account id"</dt>
                <dd><code>{user.id.clone()}</code></dd>
            </dl>
            <DisplayNameForm
                current=user.display_name.clone()
                error={plain_post_error::<SetDisplayName>()}
            />
        </section>
        <p><a href=crate::ZONE.path("/sessions")>"Manage your sessions"</a></p>
    }
    .into_any()
}

/// The display-name form. Hydrated, it saves with `fetch` and confirms in
/// place; without JavaScript it posts and the page reloads with the name.
/// `error`: what a plain post came back with.
#[island]
fn DisplayNameForm(current: String, error: Option<String>) -> impl IntoView {
    let status = RwSignal::new(String::new());
    let error = RwSignal::new(error.unwrap_or_default());
    let pending = RwSignal::new(false);
    let submit = enhance::<SetDisplayName>(pending, move |answer| match answer {
        Ok(name) => {
            status.set(format!(
                "Saved. Every page you open now greets you as {name}."
            ));
            error.set(String::new());
        }
        Err(err) => {
            status.set(String::new());
            error.set(err.to_string());
        }
    });
    view! {
        <form method="post" action=SetDisplayName::PATH class="profile__form" on:submit=submit>
            <label class="field">
                <span class="field__label">"Display name"</span>
                <input
                    class="field__input"
                    type="text"
                    name="display_name"
                    value=current
                    maxlength=DISPLAY_NAME_MAX_CHARS.to_string()
                    required
                    autocomplete="nickname"
                />
            </label>
            <button type="submit" class="button">"Save"</button>
        </form>
        <p class="form-status" role="status">{move || status.get()}</p>
        <p class="form-error" role="alert">{move || error.get()}</p>
    }
}
