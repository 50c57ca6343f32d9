//! `/auth/sessions`: where you are signed in, with "sign out this
//! session" and "sign out everywhere else". A revoked session is gone from
//! the shared store, so every zone sees it at once.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;
use shared_auth::leptos::require_user_page;
use shared_ui::document::page_title;
use shared_ui::form::{FORM_ERROR, FORM_STATUS, plain_post_error};
use shared_ui::format::format_time;

use super::session_editor::{REVOKE_OTHERS, SESSION, SessionEditor};
use crate::api::{RevokeOtherSessions, RevokeSession, SessionInfo, list_sessions};

#[component]
pub fn SessionsPage() -> impl IntoView {
    if require_user_page().is_none() {
        return view! { <p>"Redirecting to sign-in…"</p> }.into_any();
    }
    let sessions = Resource::new(|| (), |_| list_sessions());
    view! {
        <Title text=page_title("Sessions") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Identity"</p>
            <h1>"Where you are signed in"</h1>
            <p class="lead">"Each browser you sign in with has its own session. End the ones you do not recognise."</p>
        </section>
        <Suspense fallback=|| view! { <p>"Loading your sessions…"</p> }>
            {move || Suspend::new(async move {
                match sessions.await {
                    Ok(sessions) => view! {
                        <SessionEditor>
                            <SessionItems sessions />
                        </SessionEditor>
                    }
                    .into_any(),
                    Err(err) => {
                        #[cfg(feature = "ssr")]
                        shared_auth::leptos::set_page_error_status(&err);
                        view! { <p class="form-error" role="alert">{err.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// The sessions with their sign-out forms, rendered on the server only:
/// plain forms that reload the page without JavaScript, posted with
/// `fetch` by [`SessionEditor`] once hydrated.
#[component]
fn SessionItems(sessions: Vec<SessionInfo>) -> impl IntoView {
    let error =
        plain_post_error::<RevokeSession>().or_else(plain_post_error::<RevokeOtherSessions>);
    let others = sessions.iter().filter(|s| !s.current).count();
    let items = sessions
        .into_iter()
        .map(|session| {
            let device = describe_user_agent(session.user_agent.as_deref());
            let id = session.id.clone();
            view! {
                <li
                    class=SESSION
                    class:session--current=session.current
                    data-id=id
                    data-current=session.current.to_string()
                >
                    <div class="session__device">
                        <strong title=session.user_agent.clone().unwrap_or_default()>{device}</strong>
                        {session.current.then(|| view! { <span class="tag">"This device"</span> })}
                    </div>
                    <div class="session__times">
                        {format!("Signed in {} · last seen {}", format_time(session.created_at), format_time(session.last_seen_at))}
                    </div>
                    {(!session.current).then(|| view! {
                        <form method="post" action=RevokeSession::PATH class="session__revoke">
                            <input type="hidden" name="id" value=session.id />
                            <button type="submit" class="button button--small button--ghost">"Sign out this session"</button>
                        </form>
                    })}
                </li>
            }
        })
        .collect_view();
    view! {
        <p class=FORM_ERROR role="alert">{error}</p>
        <p class=format!("visually-hidden {FORM_STATUS}") role="status"></p>
        <ul class="sessions">{items}</ul>
        <form method="post" action=RevokeOtherSessions::PATH class=REVOKE_OTHERS hidden=others == 0>
            <button type="submit" class="button">"Sign out everywhere else"</button>
        </form>
    }
}

/// "Chrome on Linux" from a User-Agent header; "Unknown browser" without one.
pub fn describe_user_agent(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown browser".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map_or("A browser", |(_, name)| name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_user_agent;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(describe_user_agent(Some(chrome)), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";
        assert_eq!(describe_user_agent(Some(firefox)), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(Some(safari)), "Safari on iOS");
        assert_eq!(describe_user_agent(Some("curl/8.5.0")), "curl");
        assert_eq!(describe_user_agent(None), "Unknown browser");
        assert_eq!(describe_user_agent(Some("  ")), "Unknown browser");
    }
}
