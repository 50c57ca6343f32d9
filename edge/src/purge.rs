//! `POST /_edge/purge`: drops stored responses from the edge cache, by
//! path prefix and/or by a zone's `Cache-Tag`:
//!
//! ```sh
//! curl -X POST -H 'content-type: application/json' \
//!      -d '{"prefix": "/shop"}' http://127.0.0.1:8080/_edge/purge
//! ```
//!
//! Only for a loopback peer that names this machine as the host, or a
//! `--trusted-proxies` client (like `/_edge/status`), and only with a JSON
//! body: a page on another site cannot send that without a CORS
//! preflight, which the edge never grants, nor through a name of its own
//! resolved to 127.0.0.1 (DNS rebinding), so a browser on this machine
//! cannot be made to purge.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse as _, Response};
use http::{StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use crate::client_ip::is_local_or_trusted;
use crate::error_page;
use crate::prefix;
use crate::state::Edge;

pub use contracts::zone::EDGE_PURGE_PATH as PURGE_PATH;

/// What to purge; at least one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purge {
    /// A path prefix of whole segments (`/shop`, `/`), as routes name them.
    prefix: Option<String>,
    /// A tag the zone sent in `Cache-Tag`.
    tag: Option<String>,
}

/// The largest purge request read.
const MAX_BODY_BYTES: usize = 4096;

pub async fn purge(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let client = edge.client_addr(peer.ip(), &headers);
    if !is_local_or_trusted(client, &headers, &edge.options().trusted_proxies) {
        return error_page::forbidden();
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a JSON body (content-type: application/json)",
        );
    }
    // Read only once the peer may purge, and only so much.
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the purge request is too large",
        );
    };
    let purge: Purge = match serde_json::from_slice(&body) {
        Ok(purge) => purge,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("bad purge request: {err}"),
            );
        }
    };
    if purge.prefix.is_none() && purge.tag.is_none() {
        return refuse(StatusCode::BAD_REQUEST, "name a `prefix` or a `tag`");
    }
    if let Some(p) = &purge.prefix
        && !prefix::is_valid(p)
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "`prefix` must be `/` or whole path segments such as `/shop`",
        );
    }
    let Some(cache) = edge.cache() else {
        return Json(json!({ "purged": 0, "cache": "off" })).into_response();
    };
    let purged = cache.purge(purge.prefix.as_deref(), purge.tag.as_deref());
    tracing::info!(prefix = ?purge.prefix, tag = ?purge.tag, purged, "cache purged");
    Json(json!({ "purged": purged })).into_response()
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
