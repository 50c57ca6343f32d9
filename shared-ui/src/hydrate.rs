//! The browser entry every zone calls from its `hydrate()` export.

/// The performance mark set when the page is interactive.
pub const HYDRATED_MARK: &str = "meridian:hydrated";

/// Hydrates the islands on the page (the zone's own and shared-ui's), then
/// marks the document with `data-hydrated` so tests and scripts can tell
/// that the page is interactive, and the performance timeline with
/// [`HYDRATED_MARK`] so anyone can read when (real-user monitoring, the
/// bench's prerender probe; for a prerendered page, compare it with the
/// navigation's `activationStart`).
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
    if let Some(performance) = leptos::prelude::window().performance() {
        let _ = performance.mark(HYDRATED_MARK);
    }
}
