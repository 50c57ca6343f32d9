//! `/`: the landing page, with a tour of the zones behind the site.

use contracts::Zone;
use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::session_user;
use shared_auth::return_to::login_href;
use shared_ui::document::page_title;
use shared_ui::{SITE_NAME, ZoneLink};

#[component]
pub fn HomePage() -> impl IntoView {
    // The same for every anonymous visitor: the edge may cache it.
    shared_ui::cache::public_page(&[]);
    let user = session_user();
    let greeting = match &user {
        Some(user) => format!("Welcome back, {}", user.display_name),
        None => "Welcome".to_owned(),
    };
    let actions = match user {
        Some(_) => view! {
            <ZoneLink zone=Zone::Shop path="/cart" class="button">"Your cart"</ZoneLink>
            <ZoneLink zone=Zone::Shop path="/orders" class="button button--ghost">"Your orders"</ZoneLink>
            <ZoneLink zone=Zone::Shop class="button button--ghost">"Browse the shop"</ZoneLink>
        }
        .into_any(),
        None => view! {
            <ZoneLink zone=Zone::Shop class="button">"Browse the shop"</ZoneLink>
            <a class="button button--ghost" href=login_href("/") rel="external">"Sign in"</a>
        }
        .into_any(),
    };
    view! {
        <Title text=page_title("Home") />
        <section class="hero">
            <p class="eyebrow greeting">{greeting}</p>
            <h1>{format!("{SITE_NAME}: one site, built by three teams")}</h1>
            <p class="lead">
                "Every page you see is rendered on the server by the zone that owns its path, \
                 and only the interactive pieces load code in your browser."
            </p>
            <p class="hero__actions">{actions}</p>
        </section>
        <ZoneTour />
    }
}

/// Tabs describing each zone: which paths it owns and where its API lives.
#[island]
fn ZoneTour() -> impl IntoView {
    let selected = RwSignal::new(Zone::Public);
    let summary = |zone: Zone| match zone {
        Zone::Identity => "Signs you in once for every zone and manages your sessions.",
        Zone::Shop => "The catalogue, your cart and your orders.",
        Zone::Public => "This home page, your account area and everything else.",
    };
    view! {
        <section class="tour" aria-label="Zones behind this site">
            <div class="tabs" role="tablist">
                {Zone::ALL
                    .into_iter()
                    .map(|zone| {
                        view! {
                            <button
                                type="button"
                                role="tab"
                                class="tabs__tab"
                                id=format!("tab-{zone}")
                                aria-selected=move || {
                                    if selected.get() == zone { "true" } else { "false" }
                                }
                                on:click=move |_| selected.set(zone)
                            >
                                {zone.title()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <div class="tabs__panel" role="tabpanel">
                {move || {
                    let zone = selected.get();
                    view! {
                        <h2 class="tour__title">{format!("The {} zone", zone.name())}</h2>
                        <p>{summary(zone)}</p>
                        <dl class="facts">
                            <dt>"Owns"</dt>
                            <dd>
                                {zone
                                    .prefixes()
                                    .iter()
                                    .map(|p| view! { <code>{format!("{p}*")}</code> " " })
                                    .collect_view()}
                            </dd>
                            <dt>"Server functions"</dt>
                            <dd><code>{format!("{}/…", zone.api_prefix())}</code></dd>
                            <dt>"Assets"</dt>
                            <dd><code>{format!("/{}/", zone.pkg_dir())}</code></dd>
                        </dl>
                    }
                }}
            </div>
        </section>
    }
}
