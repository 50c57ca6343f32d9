//! Development only (`--dev-waiting-page`, which `cargo xtask dev` sets):
//! what the edge knows about the zones' builds.
//!
//! * `cargo xtask dev` reports a zone's failed build with
//!   `PUT /_edge/dev/builds/<zone>` (the compiler's first lines as the
//!   body) and a good build with `DELETE`. Meanwhile a page navigation to
//!   that zone gets the waiting page showing the error, which reloads by
//!   itself once the zone has built and answers again; `GET` answers
//!   `{"failure": "…"}` (or `null`) for that page to poll.
//! * The zone that served the last page (a `GET` answered 2xx with HTML)
//!   is `last_page` in `/_edge/status`: `cargo xtask dev` rebuilds that
//!   zone first after an edit to a shared crate.
//!
//! Only a loopback client (not one named by forwarding headers) may use
//! these routes; a web page elsewhere cannot `PUT` or `DELETE` here
//! without a CORS preflight, which the edge never grants.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse as _, Response};
use contracts::Zone;
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::json;

pub use contracts::zone::DEV_BUILDS_PREFIX as BUILDS_PREFIX;

use crate::client_ip::{self, is_local_or_trusted};
use crate::error_page;
use crate::trusted::TrustedProxies;

/// The longest failure text kept (the waiting page shows the first lines).
pub const MAX_FAILURE_BYTES: usize = 16 * 1024;

/// Each zone's last failed build, and the zone of the last page served.
#[derive(Debug, Default)]
pub struct DevBuilds {
    failures: Mutex<[Option<Arc<str>>; Zone::ALL.len()]>,
    /// `Zone::ALL` index + 1 of the zone that served the last page; 0: none yet.
    last_page: AtomicUsize,
}

impl DevBuilds {
    /// The compiler output of `zone`'s last build, if it failed.
    pub fn failure(&self, zone: Zone) -> Option<Arc<str>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)[index(zone)].clone()
    }

    /// Records (`Some`) or clears (`None`) `zone`'s failed build.
    pub fn set_failure(&self, zone: Zone, failure: Option<&str>) {
        let failure = failure.map(|text| Arc::from(truncate(text, MAX_FAILURE_BYTES)));
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)[index(zone)] = failure;
    }

    /// `zone` has just served a page.
    pub fn saw_page(&self, zone: Zone) {
        self.last_page.store(index(zone) + 1, Ordering::Relaxed);
    }

    /// The zone that served the last page, if any has.
    pub fn last_page(&self) -> Option<Zone> {
        let slot = self.last_page.load(Ordering::Relaxed);
        slot.checked_sub(1).and_then(|i| Zone::ALL.get(i).copied())
    }
}

/// Whether a response to `method` is a page a person is looking at.
pub fn is_page(method: &Method, status: StatusCode, headers: &HeaderMap) -> bool {
    method == Method::GET
        && status.is_success()
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
}

/// Whether a request is a browser loading a page (not a fetch, an asset or
/// a server function): those get the failure page instead of a stale zone.
pub fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET {
        return false;
    }
    match headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok()) {
        Some(mode) => mode == "navigate",
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html")),
    }
}

/// `GET`/`PUT`/`DELETE /_edge/dev/builds/{zone}`.
/// Its state: the builds, and the trusted proxies (whose
/// `X-Forwarded-For` names the client).
pub async fn builds(
    State((dev, trusted)): State<(Arc<DevBuilds>, TrustedProxies)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(zone): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Only this machine, never through a proxy that named another client.
    let client = client_ip::client(peer.ip(), &headers, &trusted);
    if !is_local_or_trusted(client, &headers, &TrustedProxies::default()) {
        return error_page::forbidden();
    }
    let Ok(zone) = zone.parse::<Zone>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match method {
        Method::GET => {
            Json(json!({ "zone": zone.name(), "failure": dev.failure(zone).as_deref() }))
                .into_response()
        }
        Method::PUT => {
            let text = String::from_utf8_lossy(&body);
            if text.trim().is_empty() {
                return (StatusCode::BAD_REQUEST, "the failure text is empty\n").into_response();
            }
            dev.set_failure(zone, Some(&text));
            tracing::info!(
                zone = zone.name(),
                "build failed (reported by cargo xtask dev)"
            );
            StatusCode::NO_CONTENT.into_response()
        }
        Method::DELETE => {
            dev.set_failure(zone, None);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

fn index(zone: Zone) -> usize {
    Zone::ALL
        .iter()
        .position(|&z| z == zone)
        .expect("Zone::ALL lists every zone")
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_failures_per_zone_and_the_last_page() {
        let dev = DevBuilds::default();
        assert_eq!(dev.last_page(), None);
        dev.saw_page(Zone::Shop);
        assert_eq!(dev.last_page(), Some(Zone::Shop));
        dev.set_failure(Zone::Shop, Some("error[E0425]: cannot find value `x`"));
        assert!(dev.failure(Zone::Shop).is_some());
        assert!(dev.failure(Zone::Public).is_none());
        dev.set_failure(Zone::Shop, None);
        assert!(dev.failure(Zone::Shop).is_none());
    }

    #[test]
    fn long_failures_are_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_FAILURE_BYTES);
        let cut = truncate(&text, MAX_FAILURE_BYTES - 1);
        assert!(cut.len() < MAX_FAILURE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn only_browser_page_loads_are_navigations() {
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-mode", "navigate".parse().unwrap());
        assert!(is_navigation(&Method::GET, &headers));
        assert!(!is_navigation(&Method::POST, &headers));
        headers.insert("sec-fetch-mode", "cors".parse().unwrap());
        headers.insert(header::ACCEPT, "text/html".parse().unwrap());
        assert!(!is_navigation(&Method::GET, &headers));
        let mut plain = HeaderMap::new();
        plain.insert(header::ACCEPT, "text/html,*/*".parse().unwrap());
        assert!(is_navigation(&Method::GET, &plain));
        assert!(!is_navigation(&Method::GET, &HeaderMap::new()));
    }
}
