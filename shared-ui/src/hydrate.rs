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
    forget_plain_post_error();
}

/// After a refused plain post leptos brings the browser back with the
/// error in the query (`?__path=…&__err=…`), which the page has shown. Once
/// hydrated, the address loses them, so a reload or a shared link does not
/// show that error again.
fn forget_plain_post_error() {
    let window = leptos::prelude::window();
    let location = window.location();
    let Ok(search) = location.search() else {
        return;
    };
    if !search.contains("__err=") {
        return;
    }
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.starts_with("__err=") && !pair.starts_with("__path="))
        .collect();
    let mut url = location.pathname().unwrap_or_default();
    if !kept.is_empty() {
        url.push('?');
        url.push_str(&kept.join("&"));
    }
    url.push_str(&location.hash().unwrap_or_default());
    if let Ok(history) = window.history() {
        let _ =
            history.replace_state_with_url(&leptos::wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}
