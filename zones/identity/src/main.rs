//! The zone-identity server binary: see `zone_runtime::server` for the shared
//! settings and `zone_identity::server::IdentityConfig` for its own.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    use zone_runtime::server::{ZoneApp, run_with};
    let app = ZoneApp {
        zone: zone_identity::ZONE,
        app: zone_identity::App,
        schema: None,
    };
    run_with(app, zone_identity::server::routes)
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build is the library (`hydrate`); this binary only serves.
    eprintln!("zone-identity: build with --features ssr to get the server");
    std::process::exit(2);
}
