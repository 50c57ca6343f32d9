//! Pages the edge answers with itself, styled with the shared design tokens
//! so an outage still looks like the same site.

use axum::response::{Html, IntoResponse, Response};
use contracts::Zone;
use contracts::zone::DEV_BUILDS_PREFIX;
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
/// restarting, or whose last build failed (`failure`: the compiler's first
/// lines, shown escaped). A 503 that must not be stored, and a page that
/// every half second asks the edge whether the build still fails (showing
/// the new error) and the zone's health endpoint whether it answers, and
/// reloads once it builds and answers (and every 5 s without JavaScript).
pub fn waiting(target: impl Into<Target>, failure: Option<&str>) -> Response {
    let target = target.into();
    let label = target.label();
    let health = target.health_path();
    let builds = match target {
        Target::Zone(zone) => format!("{DEV_BUILDS_PREFIX}/{}", zone.name()),
        Target::MockIdp => String::new(),
    };
    let home = Zone::Public.home();
    let starting = format!("The {label} is starting…");
    let broken = format!("The {label} did not build");
    let title = if failure.is_some() {
        &broken
    } else {
        &starting
    };
    let (hidden, shown) = match failure {
        Some(text) => (
            "",
            html_escape::encode_text(&first_lines(text)).into_owned(),
        ),
        None => (" hidden", String::new()),
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"5\">\
         <title>{title}</title><style>{TOKENS}{PAGE_CSS}\
         .eyebrow{{color:var(--color-muted)}}pre{{overflow:auto;max-height:50vh;\
         font-size:.8rem;padding:var(--space-4);background:var(--color-bg);\
         border:1px solid var(--color-border);border-radius:var(--radius)}}</style></head>\
         <body><main><p class=\"eyebrow\">Development</p><h1 id=\"title\">{title}</h1>\
         <pre id=\"failure\"{hidden}>{shown}</pre>\
         <p>It is being built or restarted. This page reloads by itself as soon as it \
         builds and answers.</p>\
         <p><a href=\"{home}\">Go to the home page</a></p></main>\
         <script>(function(){{var b=\"{builds}\",h=\"{health}\",\
         t=document.getElementById(\"title\"),f=document.getElementById(\"failure\");\
         function built(){{return b?fetch(b,{{cache:\"no-store\"}}).then(function(r){{\
         return r.ok?r.json():{{failure:null}}}}):Promise.resolve({{failure:null}})}}\
         setInterval(function(){{built().then(function(s){{\
         if(s.failure){{f.textContent=s.failure.split(\"\\n\").slice(0,{LINES}).join(\"\\n\");\
         f.hidden=false;t.textContent=\"{broken}\";return}}\
         f.hidden=true;t.textContent=\"{starting}\";\
         return fetch(h,{{cache:\"no-store\"}}).then(function(r){{if(r.ok)location.reload()}})\
         }}).catch(function(){{}})}},500)}})()</script>\
         </body></html>"
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// How many lines of a build failure the waiting page shows.
const LINES: usize = 40;

fn first_lines(text: &str) -> String {
    text.lines().take(LINES).collect::<Vec<_>>().join("\n")
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
    fn the_waiting_page_shows_a_build_failure_escaped() {
        let failure =
            "error[E0425]: cannot find value `x` in <scope>\n --> zones/shop/src/lib.rs:12:5";
        let response = waiting(Zone::Shop, Some(failure));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = futures_body(response);
        assert!(body.contains("The shop zone did not build"), "{body}");
        assert!(body.contains("in &lt;scope&gt;"), "{body}");
        assert!(body.contains("zones/shop/src/lib.rs:12:5"), "{body}");
        assert!(!body.contains("<scope>"), "unescaped: {body}");
        assert!(body.contains("\"/_edge/dev/builds/shop\""), "{body}");
        // Without a failure the error block is hidden.
        let body = futures_body(waiting(Zone::Shop, None));
        assert!(body.contains("<pre id=\"failure\" hidden></pre>"), "{body}");
    }

    fn futures_body(response: Response) -> String {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
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
