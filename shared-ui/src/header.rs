//! The site header: brand, primary navigation across zones, and the
//! account corner (sign in, or the cart badge and the user menu).

use contracts::User;
use contracts::zone::AuthPath;
use leptos::prelude::*;
use shared_auth::return_to::login_href;

use contracts::Zone;

use crate::{CartBadge, MenuButton, SITE_NAME, ZoneLink};

/// The header every zone renders. `zone` is the zone rendering the page;
/// its section is marked current. The user comes from the session the
/// request carried, so every zone shows the same account state.
#[component]
pub fn Header(zone: Zone) -> impl IntoView {
    let user = shared_auth::leptos::session_user();
    let sign_in = login_href(&current_path());
    view! {
        <header class="site-header">
            <div class="site-header__inner">
                <ZoneLink zone=Zone::Public class="brand">
                    <span class="brand__mark" aria-hidden="true">"M"</span>
                    <span class="brand__name">{SITE_NAME}</span>
                </ZoneLink>
                <nav class="primary-nav" aria-label="Main">
                    <ZoneLink zone=Zone::Public current=zone == Zone::Public>"Home"</ZoneLink>
                    <ZoneLink zone=Zone::Shop current=zone == Zone::Shop>"Shop"</ZoneLink>
                    <ZoneLink zone=Zone::Public path="/account-area">"Account"</ZoneLink>
                </nav>
                <Account user sign_in />
            </div>
        </header>
    }
}

/// The account corner. Anonymous: "Sign in". Signed in: the cart badge and
/// the user menu (profile, sessions, orders, sign out). Sign-out is a POST
/// form, so it works before hydration and no cross-site link can trigger it.
#[component]
fn Account(user: Option<User>, sign_in: String) -> impl IntoView {
    match user {
        Some(user) => view! {
            <div class="account" data-signed-in="true">
                <CartBadge />
                <MenuButton label=user.display_name>
                    <ZoneLink zone=Zone::Identity path="/profile">"Profile"</ZoneLink>
                    <ZoneLink zone=Zone::Identity path="/sessions">"Sessions"</ZoneLink>
                    <ZoneLink zone=Zone::Shop path="/orders">"Your orders"</ZoneLink>
                    <ZoneLink zone=Zone::Public path="/account-area">"Account area"</ZoneLink>
                    <form class="account__sign-out" method="post" action=AuthPath::Logout.path()>
                        <button type="submit" class="menu__item">"Sign out"</button>
                    </form>
                </MenuButton>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="account" data-signed-in="false">
                <a class="button button--small" href=sign_in rel="external">"Sign in"</a>
            </div>
        }
        .into_any(),
    }
}

/// Path and query of the page being rendered (for the sign-in link's
/// `return_to`); `/` outside a request.
fn current_path() -> String {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<axum::http::request::Parts>() {
        return parts
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
    }
    "/".to_owned()
}
