//! Development only: each zone's cargo-leptos live-reload socket, reached
//! through the edge at `/_edge/reload/<zone>` so the browser needs nothing
//! but the edge's origin (see `shared_ui::document::LiveReload`).

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse as _, Response};
use contracts::Zone;
use http::uri::Authority;
use http::{StatusCode, Version};

use crate::connections::ConnectionSlot;
use crate::error_page;
use crate::forward::strip_hop_by_hop;
use crate::state::Edge;
use crate::upgrade::{is_websocket_upgrade, set_websocket_upgrade, splice};

pub use contracts::zone::DEV_RELOAD_PREFIX as RELOAD_PREFIX;

/// `zone=host:port`: where a zone's cargo-leptos reload server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadTarget {
    pub zone: Zone,
    pub authority: Authority,
}

impl FromStr for ReloadTarget {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (zone, address) = value
            .split_once('=')
            .ok_or_else(|| format!("expected zone=host:port, got `{value}`"))?;
        let zone = zone.trim().parse::<Zone>().map_err(|e| e.to_string())?;
        let authority = address
            .trim()
            .parse::<Authority>()
            .ok()
            .filter(|a| a.port_u16().is_some())
            .ok_or_else(|| format!("`{address}` is not a host:port address"))?;
        Ok(Self { zone, authority })
    }
}

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
    parts.uri = match format!("http://{target}/live_reload").parse() {
        Ok(uri) => uri,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    match edge
        .client()
        .request(http::Request::from_parts(parts, Body::empty()))
        .await
    {
        Ok(mut response) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            splice(
                client_upgrade,
                hyper::upgrade::on(&mut response),
                target.to_string(),
                edge.options().idle_timeout,
                slot,
            );
            let (parts, _) = response.into_parts();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t: ReloadTarget = "shop=127.0.0.1:3102".parse().unwrap();
        assert_eq!(
            (t.zone, t.authority.as_str()),
            (Zone::Shop, "127.0.0.1:3102")
        );
        assert!("shop".parse::<ReloadTarget>().is_err());
        assert!("billing=127.0.0.1:1".parse::<ReloadTarget>().is_err());
        assert!("shop=127.0.0.1".parse::<ReloadTarget>().is_err());
    }
}
