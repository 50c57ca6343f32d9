//! The `<html>` shell: head with the zone's own assets, header, main, footer.

use leptos::prelude::*;
use leptos_meta::MetaTags;

use contracts::Zone;

use crate::{Footer, Header, SITE_NAME};

/// A tiny inline favicon (every page links it, so no browser asks any zone
/// for `/favicon.ico`).
pub const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
    viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%234338ca'/%3E\
    %3Cpath d='M8 23V9l8 8 8-8v14' stroke='white' stroke-width='3' fill='none' \
    stroke-linejoin='round'/%3E%3C/svg%3E";

/// The whole document for one zone. `children` is the zone's `<App/>`.
///
/// Styles and scripts come from the zone's own `pkg_dir` (see
/// [`Zone::pkg_dir`]), so the edge routes them to the zone that built them.
#[component]
pub fn Document(options: LeptosOptions, zone: Zone, children: Children) -> impl IntoView {
    let stylesheet = format!("/{}/{}.css", zone.pkg_dir(), options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="x-zone" content=zone.name() />
                <link rel="icon" href=FAVICON />
                <link rel="stylesheet" href=stylesheet />
                <noscript>
                    <style>".menu__panel{display:flex;position:static;box-shadow:none}"</style>
                </noscript>
                <LiveReload zone />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body data-zone=zone.name()>
                <a class="skip-link" href="#main">"Skip to content"</a>
                <Header zone />
                <main id="main" class="page">
                    {children()}
                </main>
                <Footer zone />
            </body>
        </html>
    }
}

/// In the Leptos context when the zone runs under `cargo leptos watch`.
#[derive(Clone, Copy, Debug)]
pub struct LiveReloadEnabled;

/// Under `cargo xtask dev`: reloads the page when cargo-leptos rebuilt the
/// zone. The socket goes through the edge (`/_edge/reload/<zone>`), so it
/// works from the one origin the browser knows.
#[component]
fn LiveReload(zone: Zone) -> impl IntoView {
    use_context::<LiveReloadEnabled>().map(|_| {
        let script = format!(
            "(function(){{var s=location.protocol==='https:'?'wss://':'ws://';\
             function c(){{var w=new WebSocket(s+location.host+'{path}');\
             w.onmessage=function(e){{var m=JSON.parse(e.data);if(m.all||m.css)location.reload();}};\
             w.onclose=function(){{setTimeout(c,1000);}};}}c();}})();",
            path = zone.dev_reload_path()
        );
        view! { <script>{script}</script> }
    })
}

/// The `<title>` text for a page: "Cart · Meridian".
pub fn page_title(page: &str) -> String {
    format!("{page} · {SITE_NAME}")
}
