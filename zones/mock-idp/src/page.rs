//! The provider's own minimal HTML page (it is not a zone: no site header),
//! styled by the identity zone's stylesheet.

use axum::response::{Html, IntoResponse as _, Response};
use contracts::Zone;
use http::{HeaderValue, StatusCode, header};

/// A whole page: `title` (plain text) over `body` (HTML, already escaped).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"icon\" href=\"data:,\">\
         <link rel=\"stylesheet\" href=\"/{pkg}/{bundle}.css\"></head>\
         <body class=\"idp\"><main class=\"page idp-card\"><p class=\"eyebrow\">Meridian ID (mock)</p>\
         <h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
        pkg = Zone::Identity.pkg_dir(),
        bundle = contracts::zone::OUTPUT_NAME,
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 302 to `location` (a URL this provider built from registered URIs and
/// url-encoded parameters), not cached.
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "<p>The return address cannot be used.</p>",
        ),
    }
}

/// `uri` with `params` appended to its query (url-encoded).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return uri.to_owned();
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        query.append_pair(key, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.finish())
}

/// Minimal HTML escaping for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_appended_encoded() {
        assert_eq!(with_query("http://x/cb", &[]), "http://x/cb");
        assert_eq!(
            with_query("http://x/cb", &[("code", "a b"), ("state", "s&t")]),
            "http://x/cb?code=a+b&state=s%26t"
        );
        assert_eq!(
            with_query("http://x/cb?v=1", &[("code", "c")]),
            "http://x/cb?v=1&code=c"
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
