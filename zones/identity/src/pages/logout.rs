//! `GET /auth/logout`: asks before signing out (the sign-out itself is a
//! same-origin `POST /auth/logout`, so a link or image cannot trigger it).

use contracts::Zone;
use contracts::zone::AuthPath;
use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::session_user;
use shared_ui::ZoneLink;
use shared_ui::document::page_title;

#[component]
pub fn LogoutPage() -> impl IntoView {
    let user = session_user();
    view! {
        <Title text=page_title("Sign out") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Sign out"</p>
            {match user {
                Some(user) => view! {
                    <h1>"Sign out of Meridian?"</h1>
                    <p class="lead">
                        {format!("You are signed in as {}. Signing out ends this session in every zone.", user.display_name)}
                    </p>
                    <form method="post" action=AuthPath::Logout.path()>
                        <button type="submit" class="button">"Sign out"</button>
                    </form>
                }
                    .into_any(),
                None => view! {
                    <h1>"You are signed out"</h1>
                    <p class="lead">"There is no active session in this browser."</p>
                    <p><ZoneLink zone=Zone::Public class="button">"Go to the home page"</ZoneLink></p>
                }
                    .into_any(),
            }}
        </section>
    }
}
