//! Development only: each zone's cargo-leptos live-reload socket, reached
//! through the edge at `/_edge/reload/<zone>` so the browser needs nothing
//! but the edge's origin (see `shared_ui::document::LiveReload`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse as _, Response};
use contracts::Zone;
use http::{StatusCode, Version};

use crate::connections::ConnectionSlot;
use crate::error_page;
use crate::forward::strip_hop_by_hop;
use crate::state::Edge;
use crate::upgrade::{is_websocket_upgrade, set_websocket_upgrade, splice};

pub use contracts::zone::DEV_RELOAD_PREFIX as RELOAD_PREFIX;

/// `GET /_edge/reload/{zone}` (a WebSocket upgrade): spliced to the zone's
/// reload server at `/live_reload`.
pub async fn reload_socket(
    State(edge): State<Arc<Edge>>,
    Path(zone): Path<String>,
    mut request: Request,
) -> Response {
    let Some(target) = edge
        .options()
        .dev_reload
        .iter()
        .find(|t| t.zone.name() == zone)
        .map(|t| t.authority.clone())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !is_websocket_upgrade(request.headers()) {
        return error_page::bad_request(
            "The live-reload endpoint only takes WebSocket connections.",
        );
    }
    let client_upgrade = hyper::upgrade::on(&mut request);
    let slot = request.extensions_mut().remove::<ConnectionSlot>();
    let (mut parts, _) = request.into_parts();
    parts.version = Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);
    set_websocket_upgrade(&mut parts.headers);
    parts.uri = http::Uri::from_static("/live_reload");
    let request = http::Request::from_parts(parts, Body::empty());
    match edge.send(&target, request).await {
        Ok(response) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let (parts, upstream) = response.into_parts();
            splice(
                client_upgrade,
                upstream,
                target.to_string(),
                edge.options().idle_timeout,
                slot,
            );
            Response::from_parts(parts, Body::empty())
        }
        Ok(response) => response.map(Body::new),
        Err(err) => {
            tracing::debug!(upstream = %target, "live reload unavailable: {err}");
            match zone.parse::<Zone>() {
                Ok(zone) => error_page::bad_gateway(zone),
                Err(_) => StatusCode::BAD_GATEWAY.into_response(),
            }
        }
    }
}
