//! The page a zone renders for a path it does not know.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::document::page_title;
use contracts::Zone;

use crate::ZoneLink;

/// "Page not found", with a 404 status when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=page_title("Page not found") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"404"</p>
            <h1>"This page does not exist"</h1>
            <p class="lead">"The address may be mistyped, or the page has moved."</p>
            <p>
                <ZoneLink zone=Zone::Public class="button">"Go to the home page"</ZoneLink>
            </p>
        </section>
    }
}
