//! Pages the edge answers with itself, styled with the shared design tokens
//! so an outage still looks like the same site.

use axum::response::{Html, IntoResponse, Response};
use contracts::Zone;
use http::{HeaderValue, StatusCode, header};

use crate::target::Target;

const TOKENS: &str = include_str!("../../style/tokens.css");

const PAGE_CSS: &str = "body{margin:0;min-height:100vh;display:grid;place-items:center;\
    background:var(--color-bg);color:var(--color-text);font-family:var(--font-sans);\
    line-height:1.55}main{max-width:34rem;margin:var(--space-8);padding:var(--space-8);\
    background:var(--color-surface);border:1px solid var(--color-border);\
    border-radius:var(--radius);box-shadow:var(--shadow)}.eyebrow{text-transform:uppercase;\
    letter-spacing:.08em;font-size:.8rem;font-weight:600;color:var(--color-danger);margin:0}\
    h1{margin:.25rem 0 1rem;line-height:1.2}p{color:var(--color-muted)}\
    a{color:var(--color-brand)}";

/// A zone did not answer (connection refused, reset, or a broken response).
pub fn bad_gateway(target: impl Into<Target>) -> Response {
    page(
        StatusCode::BAD_GATEWAY,
        &format!("The {} is not answering", target.into().label()),
        "This part of the site is down for a moment. The rest of the site keeps working; \
         try again in a few seconds.",
    )
}

/// Development only (`--dev-waiting-page`): a zone that is building or
/// restarting. A 503 that must not be stored, and a page that asks the
/// zone's health endpoint every half second and reloads once it answers
/// (and every 5 s without JavaScript).
pub fn waiting(target: impl Into<Target>) -> Response {
    let target = target.into();
    let label = target.label();
    let health = target.health_path();
    let home = Zone::Public.home();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"5\">\
         <title>The {label} is starting…</title><style>{TOKENS}{PAGE_CSS}\
         .eyebrow{{color:var(--color-muted)}}</style></head>\
         <body><main><p class=\"eyebrow\">Development</p><h1>The {label} is starting…</h1>\
         <p>It is being built or restarted. This page reloads by itself as soon as it answers.</p>\
         <p><a href=\"{home}\">Go to the home page</a></p></main>\
         <script>setInterval(function(){{fetch(\"{health}\",{{cache:\"no-store\"}})\
         .then(function(r){{if(r.ok)location.reload()}}).catch(function(){{}})}},500)</script>\
         </body></html>"
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// A zone accepted the request but did not answer in time.
pub fn gateway_timeout(target: impl Into<Target>) -> Response {
    page(
        StatusCode::GATEWAY_TIMEOUT,
        &format!("The {} took too long to answer", target.into().label()),
        "The request was cancelled so that it does not hang. Try again in a few seconds.",
    )
}

/// A request the edge refuses to route (e.g. dot segments in the path).
pub fn bad_request(problem: impl std::fmt::Display) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This address cannot be served",
        &problem.to_string(),
    )
}

/// A request body larger than the route allows.
pub fn payload_too_large(limit: u64) -> Response {
    page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "The upload is too large",
        &format!(
            "This part of the site accepts at most {} KiB per request.",
            limit / 1024
        ),
    )
}

/// A client over one of the manifest's rate limits.
pub fn too_many_requests(retry_after_secs: u64) -> Response {
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        &format!(
            "This address has been asked for too often from your network. \
             Wait {retry_after_secs} second{} and try again.",
            if retry_after_secs == 1 { "" } else { "s" }
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The edge's own diagnostics, asked for by a client that may not see them.
pub fn forbidden() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Not available",
        "This page is only shown to the operators of the site.",
    )
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let code = status.as_u16();
    let home = Zone::Public.home();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{code} · {title}</title><style>{TOKENS}{PAGE_CSS}</style></head>\
         <body><main><p class=\"eyebrow\">Error {code}</p><h1>{title}</h1><p>{message}</p>\
         <p><a href=\"{home}\">Go to the home page</a></p></main></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_gateway_names_the_zone_and_uses_the_tokens() {
        let response = bad_gateway(Zone::Shop);
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(TOKENS.contains("--color-brand"));
    }

    #[test]
    fn too_many_requests_says_when_to_come_back() {
        let response = too_many_requests(3);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
}
