//! The site footer.

use leptos::prelude::*;

use contracts::Zone;

use crate::{SITE_NAME, ZoneLink};

/// The footer every zone renders. It names the zone that rendered the page,
/// which is handy when checking that the edge routed a path where it should.
#[component]
pub fn Footer(zone: Zone) -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="site-footer__inner">
                <p class="site-footer__brand">
                    {SITE_NAME} " — one site, three independently deployed zones."
                </p>
                <nav class="site-footer__links" aria-label="Zones">
                    {Zone::ALL
                        .into_iter()
                        .map(|z| view! { <ZoneLink zone=z>{z.title()}</ZoneLink> })
                        .collect_view()}
                </nav>
                <p class="site-footer__zone">
                    "Rendered by the " <strong class="zone-name">{zone.name()}</strong> " zone"
                </p>
            </div>
        </footer>
    }
}
