//! The zone-shop server binary: see `zone_runtime::server` for its settings.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    use zone_runtime::server::{ZoneApp, run_with};
    let app = ZoneApp {
        zone: zone_shop::ZONE,
        app: zone_shop::App,
        schema: Some(zone_shop::server::migrations()),
    };
    run_with(app, zone_shop::server::routes)
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build is the library (`hydrate`); this binary only serves.
    eprintln!("zone-shop: build with --features ssr to get the server");
    std::process::exit(2);
}
