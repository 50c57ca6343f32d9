//! The checks no handler may forget, as layers every zone runtime installs:
//! cross-site writes are refused, no `Location` leaves the origin, and
//! zone-to-zone routes answer only direct callers.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse as _, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::auth::{Auth, ExternalRedirect};
use crate::leptos::AuthError;
use crate::origin::is_same_origin;
use crate::return_to::{DEFAULT_RETURN_TO, is_same_origin_path};

/// Refuses (403) every request with a non-safe method (anything but GET,
/// HEAD, OPTIONS) that a browser did not send from this site, whatever its
/// content type: server functions, form posts and sign-out alike. A
/// browser asking for HTML gets a short page; a script gets the JSON of
/// [`AuthError::CrossOrigin`], like a server function's own error.
pub async fn refuse_cross_site(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(request.headers(), &auth.config().public_origin) {
        return next.run(request).await;
    }
    tracing::warn!(
        method = ?request.method(),
        path = ?request.uri().path(),
        origin = ?request.headers().get(header::ORIGIN),
        "refused a cross-site request"
    );
    cross_site_refusal(request.headers())
}

/// Answers 404 to a request that came through the edge (which always adds
/// `Forwarded` and `X-Forwarded-For`): zone-to-zone routes are for the
/// zones' servers, on their internal addresses. The edge refuses these
/// paths too; this holds should it be misconfigured or bypassed.
pub async fn only_direct(request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::FORWARDED) || headers.contains_key("x-forwarded-for") {
        tracing::warn!(path = ?request.uri().path(), "refused a forwarded request to an internal route");
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

fn cross_site_refusal(headers: &HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let mut response = if wants_html {
        (
            StatusCode::FORBIDDEN,
            Html(
                "<!DOCTYPE html><title>Refused</title><p>This request did not come from this \
                 site and was refused. <a href=\"/\">Back to the site</a>.</p>",
            ),
        )
            .into_response()
    } else {
        (StatusCode::FORBIDDEN, axum::Json(AuthError::CrossOrigin)).into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Keeps every redirect on the origin: a `Location` that is a same-origin
/// path stays; an absolute URL on `PUBLIC_ORIGIN` becomes its path; any
/// other target (another origin, a scheme-relative `//host`, leptos'
/// redirect to a foreign `Referer`) becomes `/`, unless the handler marked
/// the response [`ExternalRedirect`] (identity's hand-off to the provider).
/// A trailing `?` (left by leptos after removing its error parameters) is
/// dropped so the address bar shows the page's own URL.
pub async fn keep_location_on_origin(State(auth): State<Auth>, mut response: Response) -> Response {
    if response.extensions().get::<ExternalRedirect>().is_some() {
        return response;
    }
    let Some(location) = response.headers().get(header::LOCATION) else {
        return response;
    };
    let kept = on_origin(location, &auth.config().public_origin);
    if kept.as_ref() != Some(location) {
        let target = kept.unwrap_or_else(|| HeaderValue::from_static(DEFAULT_RETURN_TO));
        if target.as_bytes() == DEFAULT_RETURN_TO.as_bytes() {
            tracing::warn!(location = ?location, "rewrote an off-origin redirect to /");
        }
        response.headers_mut().insert(header::LOCATION, target);
    }
    response
}

/// `location` as a same-origin path, if it is one or an absolute URL on
/// `public_origin`.
fn on_origin(location: &HeaderValue, public_origin: &str) -> Option<HeaderValue> {
    let text = location.to_str().ok()?;
    let path = match text.strip_prefix(public_origin) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        Some(_) => return None,
        None => text,
    };
    let path = path.strip_suffix('?').unwrap_or(path);
    let path = if path.is_empty() { "/" } else { path };
    is_same_origin_path(path)
        .then(|| HeaderValue::from_str(path).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://localhost:8080";

    fn kept(location: &'static str) -> Option<String> {
        on_origin(&HeaderValue::from_static(location), ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn same_origin_targets_stay() {
        assert_eq!(kept("/shop/cart").as_deref(), Some("/shop/cart"));
        assert_eq!(kept("/shop/cart?").as_deref(), Some("/shop/cart"));
        assert_eq!(
            kept("http://localhost:8080/shop/product/1?error=x").as_deref(),
            Some("/shop/product/1?error=x")
        );
        assert_eq!(kept("http://localhost:8080").as_deref(), Some("/"));
        assert_eq!(
            kept("/auth/login?return_to=/caf%25C3%25A9").as_deref(),
            Some("/auth/login?return_to=/caf%25C3%25A9")
        );
    }

    #[test]
    fn other_origins_are_refused() {
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "http://localhost:8080.evil.example/",
            "http://localhost:8080@evil.example/",
            "javascript:alert(1)",
            "shop",
        ] {
            assert_eq!(kept(bad), None, "{bad}");
        }
    }
}
