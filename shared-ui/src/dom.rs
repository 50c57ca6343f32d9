//! The few DOM writes an island makes to markup the server rendered
//! (a thin enhancer: the island ships no view code for that markup).
//! Elements are found by class name, so the server's view and the island
//! share one constant per hook. Browser only: on the server they are never
//! called (islands run them from event handlers).

use leptos::web_sys::Element;

/// The first element of class `class` inside `root`.
pub fn by_class(root: &Element, class: &str) -> Option<Element> {
    root.get_elements_by_class_name(class).item(0)
}

/// Sets the text of the first element of class `class` inside `root`.
pub fn set_text(root: &Element, class: &str, text: &str) {
    if let Some(element) = by_class(root, class) {
        element.set_text_content(Some(text));
    }
}

/// Hides or shows the first element of class `class` inside `root`.
pub fn set_hidden(root: &Element, class: &str, hidden: bool) {
    if let Some(element) = by_class(root, class) {
        let _ = element.toggle_attribute_with_force("hidden", hidden);
    }
}

/// Removes every element of class `class` inside `root` for which `keep`
/// says no; returns how many are left.
pub fn retain(root: &Element, class: &str, keep: impl Fn(&Element) -> bool) -> usize {
    let elements = root.get_elements_by_class_name(class);
    let mut left = 0;
    // Backwards: a removal shrinks the live collection behind the index.
    for index in (0..elements.length()).rev() {
        match elements.item(index) {
            Some(element) if keep(&element) => left += 1,
            Some(element) => element.remove(),
            None => {}
        }
    }
    left
}

/// Reloads the page (markup only the server renders is needed).
pub fn reload() {
    let _ = leptos::prelude::window().location().reload();
}

/// Sends the browser to `url` (a full page load): sign-in, or a page a
/// post created.
pub fn go_to(url: &str) {
    let _ = leptos::prelude::window().location().assign(url);
}
