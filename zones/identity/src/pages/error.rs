//! `/auth/error?reason=…`: where every failed sign-in lands, with a message
//! that says what happened and what to do, and a 400 status.

use contracts::zone::AuthPath;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shared_ui::document::page_title;

use crate::sign_in_failure::SignInFailure;

#[component]
pub fn SignInErrorPage() -> impl IntoView {
    let query = use_query_map();
    let reason = query
        .with_untracked(|q| q.get("reason"))
        .as_deref()
        .and_then(SignInFailure::from_code);
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::BAD_REQUEST);
    }
    let message = reason.map_or(
        "Sign-in did not complete. Please try again.",
        SignInFailure::message,
    );
    view! {
        <Title text=page_title("Sign-in failed") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Sign-in"</p>
            <h1>"Sign-in did not complete"</h1>
            <p class="lead" data-reason=reason.map(SignInFailure::code)>{message}</p>
            <p>
                <a class="button" href=AuthPath::Login.path() rel="external">"Try again"</a>
            </p>
        </section>
    }
}
