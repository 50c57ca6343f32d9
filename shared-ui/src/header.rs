//! The site header: brand, primary navigation across zones, account menu.

use leptos::prelude::*;

use crate::{MenuButton, SITE_NAME, Zone, ZoneLink};

/// The header every zone renders. `zone` is the zone rendering the page; its
/// section is marked current.
#[component]
pub fn Header(zone: Zone) -> impl IntoView {
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
                <MenuButton label="Menu".to_string()>
                    <ZoneLink zone=Zone::Identity current=zone == Zone::Identity>
                        "Sign in"
                    </ZoneLink>
                    <ZoneLink zone=Zone::Public path="/account-area">"Account area"</ZoneLink>
                    <ZoneLink zone=Zone::Shop>"Catalogue"</ZoneLink>
                </MenuButton>
            </div>
        </header>
    }
}
