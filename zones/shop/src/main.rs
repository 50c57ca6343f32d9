//! The zone-shop server binary: see `shared_ui::server` for its settings.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    shared_ui::server::run(zone_shop::ZONE, zone_shop::shell, zone_shop::App)
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build is the library (`hydrate`); this binary only serves.
    eprintln!("zone-shop: build with --features ssr to get the server");
    std::process::exit(2);
}
