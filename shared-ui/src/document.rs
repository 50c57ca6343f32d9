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
                <Speculation />
                <BundleLoader options />
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

/// The zone's bundle (its JS glue and wasm), fetched only by a page that
/// rendered an island: Leptos' hydration scripts sit inert in a
/// `<template>`, and once the document is parsed a small script moves them
/// into the head if the page has a `<leptos-island>`. The head is sent
/// before the body is rendered, so only the browser knows whether a page
/// has islands; a page without any (most anonymous pages of the public
/// zone) downloads no JS and no wasm at all.
#[component]
fn BundleLoader(options: LeptosOptions) -> impl IntoView {
    view! {
        <template id=BUNDLE_TEMPLATE_ID>
            <HydrationScripts options islands=true />
        </template>
        <script>{BUNDLE_LOADER}</script>
    }
}

/// The `<template>` holding the hydration scripts.
pub const BUNDLE_TEMPLATE_ID: &str = "zone-bundle";

/// What Leptos' island script tests before it puts off loading the bundle
/// until the browser is idle (a macro, so the loader below can be one
/// literal; `IDLE_TEST` is the same text for tests).
macro_rules! idle_test {
    () => {
        r#""requestIdleCallback" in window"#
    };
}

/// The text in Leptos' island script that [`BUNDLE_LOADER`] switches off.
pub const IDLE_TEST: &str = idle_test!();

/// Moves the template's links and script into the head when the page has
/// an island (a script taken from a template must be created anew to run).
/// The script starts at once rather than when the browser is next idle:
/// the loader itself runs only after the document is parsed, our pages are
/// light, and the wait was 10–20 ms of every cross-zone click (more on a
/// busy machine) before the cached bundle was even looked at.
const BUNDLE_LOADER: &str = concat!(
    "document.addEventListener('DOMContentLoaded',function(){",
    "if(!document.querySelector('leptos-island'))return;",
    "var t=document.getElementById('zone-bundle');if(!t)return;",
    "Array.prototype.forEach.call(t.content.children,function(n){",
    "if(n.tagName==='SCRIPT'){var s=document.createElement('script');s.type='module';",
    "s.textContent=n.textContent.replace('",
    idle_test!(),
    "','false');document.head.appendChild(s);}",
    "else document.head.appendChild(document.importNode(n,true));});});"
);

/// In the Leptos context unless the zone runs with speculation rules off
/// (`SPECULATION_RULES=false`).
#[derive(Clone, Copy, Debug)]
pub struct SpeculationRulesEnabled;

/// Chromium's speculation rules for [`crate::ZoneLink`]s: every zone link
/// is prefetched when the pointer rests on it (`moderate`: about 200 ms of
/// hover, or a pointer-down), and the primary navigation's links are
/// prerendered then, wasm and hydration included, so a click shows the
/// other zone's page at once. Only plain links qualify: sign-out is a POST
/// form and sign-in an ordinary link, neither a `ZoneLink`; the page the
/// link points at (`aria-current`) is skipped. Browsers without
/// speculation rules ignore the script.
pub const SPECULATION_RULES: &str = r#"{"prerender":[{"where":{"selector_matches":".primary-nav a[data-zone-link]:not([aria-current])"},"eagerness":"moderate"}],"prefetch":[{"where":{"selector_matches":"a[data-zone-link]:not([aria-current])"},"eagerness":"moderate"}]}"#;

#[component]
fn Speculation() -> impl IntoView {
    use_context::<SpeculationRulesEnabled>()
        .map(|_| view! { <script type="speculationrules">{SPECULATION_RULES}</script> })
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
