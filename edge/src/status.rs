//! `GET /_edge/status`: every zone, its prefixes and instances, up or
//! down, and the last error seen for each.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::proxy::Edge;
use crate::upstream::UpstreamStatus;

#[derive(Serialize)]
pub struct ZoneStatus {
    zone: &'static str,
    prefixes: Vec<String>,
    up: bool,
    upstreams: Vec<UpstreamStatus>,
}

#[derive(Serialize)]
pub struct Status {
    zones: Vec<ZoneStatus>,
}

pub async fn status(State(edge): State<Arc<Edge>>) -> Json<Status> {
    let routes = edge.routes();
    let zones = routes
        .groups()
        .into_iter()
        .map(|group| {
            let upstreams = group.status();
            ZoneStatus {
                zone: group.zone.name(),
                prefixes: routes
                    .routes()
                    .iter()
                    .filter(|r| r.zone == group.zone)
                    .map(|r| r.prefix.clone())
                    .collect(),
                up: upstreams.iter().any(|u| u.up),
                upstreams,
            }
        })
        .collect();
    Json(Status { zones })
}
