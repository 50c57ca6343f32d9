//! Links that cross zone boundaries.

use leptos::prelude::*;

use contracts::Zone;

/// A link to a page of `zone`. Crossing zones is always a full page load
/// (`rel="external"` keeps any client-side router from intercepting it), so
/// the target zone renders the page and hydrates its own islands. The
/// document's speculation rules (see `document::SPECULATION_RULES`) pick
/// these links out by `data-zone-link`: the browser fetches the page on
/// hover, so the full page load is served from memory.
#[component]
pub fn ZoneLink(
    zone: Zone,
    /// Path inside the zone, starting with `/` (or empty for its home).
    #[prop(optional, into)]
    path: String,
    #[prop(optional, into)] class: String,
    /// Marks the link as the current section (`aria-current="page"`).
    #[prop(optional)]
    current: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <a
            href=zone.path(&path)
            rel="external"
            data-zone-link=zone.name()
            class=class
            aria-current=current.then_some("page")
        >
            {children()}
        </a>
    }
}
