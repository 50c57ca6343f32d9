//! The browser entry every zone calls from its `hydrate()` export.

/// Hydrates the islands on the page (the zone's own and shared-ui's), then
/// marks the document with `data-hydrated` so tests and scripts can tell
/// that the page is interactive.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
