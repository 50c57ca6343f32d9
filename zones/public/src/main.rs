//! The zone-public server binary: see `zone_runtime::server` for its settings.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    zone_runtime::server::run(zone_public::ZONE, zone_public::App)
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build is the library (`hydrate`); this binary only serves.
    eprintln!("zone-public: build with --features ssr to get the server");
    std::process::exit(2);
}
