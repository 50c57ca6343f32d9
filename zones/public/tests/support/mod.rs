//! The public zone on its real router and a fresh store, for its tests.

use axum::Router;
use zone_runtime::server::ZoneApp;
use zone_runtime::testing::TestZone;

pub async fn public() -> TestZone {
    let app = ZoneApp {
        zone: zone_public::ZONE,
        app: zone_public::App,
        schema: None,
    };
    TestZone::start(app, |_, _| Ok(Router::new())).await
}
