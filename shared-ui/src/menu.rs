//! The header's user menu: a shared island, hydrated by whichever zone
//! renders it. Without JavaScript the panel is simply shown (see the
//! `<noscript>` style in [`crate::Document`]).

use leptos::prelude::*;

/// A button that opens and closes a panel of links. The links are rendered on
/// the server (they are plain `children`); only the open/closed state lives
/// in the browser. Escape closes the panel and returns focus to the button.
#[island]
pub fn MenuButton(label: String, children: Children) -> impl IntoView {
    let open = RwSignal::new(false);
    let button = NodeRef::<leptos::html::Button>::new();
    let close_on_escape = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && open.get_untracked() {
            open.set(false);
            if let Some(button) = button.get_untracked() {
                let _ = button.focus();
            }
        }
    };
    view! {
        <div class="menu" on:keydown=close_on_escape>
            <button
                node_ref=button
                class="menu__button"
                type="button"
                aria-haspopup="true"
                aria-controls="site-menu"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <span class="menu__label">{label}</span>
                <span class="menu__chevron" aria-hidden="true"></span>
            </button>
            <div id="site-menu" class="menu__panel" class:menu__panel--open=move || open.get()>
                {children()}
            </div>
        </div>
    }
}
