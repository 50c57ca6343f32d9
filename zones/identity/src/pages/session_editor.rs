//! The sessions page's island: a thin enhancer over the server-rendered
//! list (`sessions::SessionItems`). Its forms work as plain posts;
//! hydrated, this posts them with `fetch` and removes the sessions that
//! ended from the same markup, so the island ships no view code for them.

use leptos::html::Div;
use leptos::prelude::*;
use leptos::web_sys::Element;
use shared_auth::leptos::AuthError;
use shared_ui::dom::{self, go_to, set_text};
use shared_ui::form::{FORM_ERROR, FORM_STATUS, enhance};

use crate::api::{RevokeOtherSessions, RevokeSession, SessionInfo};
use crate::error::AccountError;

/// The classes the server renders and the island updates.
pub const SESSION: &str = "session";
pub const REVOKE_OTHERS: &str = "sessions__revoke-others";

/// Posts the sessions' sign-out forms with `fetch` once hydrated and
/// shows the list the server answers with; a signed-out user goes to sign
/// in; a refusal shows its message.
#[island]
pub fn SessionEditor(children: Children) -> impl IntoView {
    let root = NodeRef::<Div>::new();
    let pending = RwSignal::new(false);
    let changed = move |answer: Result<Vec<SessionInfo>, AccountError>| {
        let Some(root) = root.get_untracked() else {
            return;
        };
        match answer {
            Ok(sessions) => show_sessions(&root, &sessions),
            Err(AccountError::Auth(AuthError::Unauthenticated { login_url })) => go_to(&login_url),
            Err(err) => set_text(&root, FORM_ERROR, &err.to_string()),
        }
    };
    let revoke = enhance::<RevokeSession>(pending, changed);
    let revoke_others = enhance::<RevokeOtherSessions>(pending, changed);
    view! {
        <div
            class="session-editor"
            node_ref=root
            on:submit=move |event| {
                revoke(event.clone());
                revoke_others(event);
            }
        >
            {children()}
        </div>
    }
}

/// Keeps the listed sessions that are still live and hides "sign out
/// everywhere else" once no other is left. A session the page never
/// showed needs markup only the server renders: then the page is reloaded.
fn show_sessions(root: &Element, sessions: &[SessionInfo]) {
    set_text(root, FORM_ERROR, "");
    let shown = dom::retain(root, SESSION, |item| {
        let id = item.get_attribute("data-id").unwrap_or_default();
        sessions.iter().any(|session| session.id == id)
    });
    if shown != sessions.len() {
        dom::reload();
        return;
    }
    let others = sessions.iter().filter(|session| !session.current).count();
    dom::set_hidden(root, REVOKE_OTHERS, others == 0);
    let left = match others {
        0 => "Signed out. This is your only session now.".to_owned(),
        1 => "Signed out. One other session is left.".to_owned(),
        n => format!("Signed out. {n} other sessions are left."),
    };
    set_text(root, FORM_STATUS, &left);
}
