//! The one HTTP helper of verify-auth: the shared site client
//! (`crate::client`: a client that never follows redirects, the
//! cookie jar, the mock-provider sign-in) driven the way the probes need,
//! and the readers for what a response says (Location, Retry-After).
//! Protocol-upgrade probes (`Upgrade: h2c`, a WebSocket handshake) go
//! through the same client: over HTTP/1.1 reqwest sends such headers as
//! given and hands back a `101` like any other status, so no raw socket
//! is needed.

use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{COOKIE, HeaderName, LOCATION, ORIGIN, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};

use crate::client::blocking_client;
pub(super) use crate::client::cookies::{self, Jar};
use crate::client::sign_in::{SignIn, StepCookies};
pub(super) use crate::client::{Site, path_of, query_of};

/// The longest `Retry-After` the helper waits out before retrying.
const MAX_POLITE_WAIT: Duration = Duration::from_secs(10);

/// The client for one stack (its site: base URL and cookie names).
#[derive(Clone)]
pub(super) struct Http {
    client: Client,
    site: Site,
}

impl Http {
    pub(super) fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: blocking_client()?,
            site: Site::new(base)?,
        })
    }

    pub(super) fn site(&self) -> &Site {
        &self.site
    }

    /// The origin under test, without a trailing slash.
    pub(super) fn base(&self) -> &str {
        self.site.base()
    }

    /// The session cookie's name on this origin.
    pub(super) fn session_cookie(&self) -> &str {
        self.site.session_cookie()
    }

    /// The login cookie's name on this origin.
    pub(super) fn login_cookie(&self) -> &str {
        self.site.login_cookie()
    }

    /// `path` on the origin; absolute URLs are kept as they are.
    pub(super) fn url(&self, path: &str) -> String {
        self.site.url(path)
    }

    /// A request carrying `jar`'s cookies.
    pub(super) fn request(&self, method: Method, path: &str, jar: &Jar) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match jar.header() {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        }
    }

    /// Sends `request`. A 429 from the edge's rate limits (verify-auth shares
    /// its client IP's budget with itself) is waited out once, as its
    /// `Retry-After` says, and the request sent again.
    pub(super) fn send(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        let request = request.build().context("cannot build a request")?;
        let what = format!("{} {}", request.method(), request.url().path());
        let again = request.try_clone();
        let response = self.client.execute(request).context(what.clone())?;
        let Some(again) = again.filter(|_| response.status() == StatusCode::TOO_MANY_REQUESTS)
        else {
            return Ok(response);
        };
        let wait = retry_after(&response)
            .map_or(Duration::from_secs(1), Duration::from_secs)
            .min(MAX_POLITE_WAIT);
        println!(
            "      (the edge rate-limited {what}; waiting {}s as its Retry-After says)",
            wait.as_secs()
        );
        thread::sleep(wait);
        self.client.execute(again).context(what)
    }

    /// Sends `request` once, whatever it answers (for the rate-limit probe).
    pub(super) fn send_once(&self, request: RequestBuilder) -> anyhow::Result<Response> {
        let request = request.build().context("cannot build a request")?;
        let what = format!("{} {}", request.method(), request.url().path());
        self.client.execute(request).context(what)
    }

    pub(super) fn get(&self, path: &str, jar: &Jar) -> anyhow::Result<Response> {
        self.send(self.request(Method::GET, path, jar))
    }

    /// GET with extra headers.
    pub(super) fn get_with(
        &self,
        path: &str,
        jar: &Jar,
        headers: &[(HeaderName, &str)],
    ) -> anyhow::Result<Response> {
        let mut request = self.request(Method::GET, path, jar);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        self.send(request)
    }

    /// POST of an urlencoded form, with `origin` as the `Origin` header.
    pub(super) fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        jar: &Jar,
        origin: Option<&str>,
    ) -> anyhow::Result<Response> {
        let mut request = self.request(Method::POST, path, jar).form(form);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        self.send(request)
    }

    /// Sends the next request of `flow` as the browser that holds `jar`
    /// (which takes in the answer's cookies); the answer, not yet read by
    /// `flow` (see [`Http::advance`]).
    pub(super) fn sign_in_request(&self, flow: &SignIn, jar: &mut Jar) -> anyhow::Result<Response> {
        let step = flow
            .step(&self.site)
            .context("the sign-in is already complete")?;
        let empty = Jar::default();
        let browser = match step.cookies {
            StepCookies::Browser(_) => &*jar,
            StepCookies::None => &empty,
        };
        let mut request = self.request(step.method, &step.url, browser);
        if let Some(form) = &step.form {
            request = request.form(form);
        }
        let response = self.send(request)?;
        if matches!(step.cookies, StepCookies::Browser(_)) {
            jar.absorb(response.headers());
        }
        Ok(response)
    }

    /// One step of `flow` as `jar`'s browser, its answer read by `flow`.
    pub(super) fn advance(&self, flow: &mut SignIn, jar: &mut Jar) -> anyhow::Result<Response> {
        let response = self.sign_in_request(flow, jar)?;
        flow.read(&self.site, response.status(), response.headers())?;
        Ok(response)
    }

    /// Whether the base URL is plain http (where `Upgrade: h2c` means
    /// something: h2c is HTTP/2 over cleartext).
    pub(super) fn is_plain_http(&self) -> bool {
        self.base().starts_with("http://")
    }

    /// Whether every address the base URL names is a loopback address.
    pub(super) fn is_loopback(&self) -> bool {
        Url::parse(self.base())
            .ok()
            .and_then(|url| url.socket_addrs(|| Some(80)).ok())
            .is_some_and(|addrs| !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
    }

    /// A zone's `/…/me` answer as JSON.
    pub(super) fn me(&self, path: &str, jar: &Jar) -> anyhow::Result<serde_json::Value> {
        self.get(path, jar)?
            .json()
            .with_context(|| format!("{path} is not JSON"))
    }
}

/// The response's `Location`, or "" when it has none.
pub(super) fn location(response: &Response) -> String {
    header_text(response, LOCATION)
}

/// Every value of header `name`, joined with ", " ("" when absent).
pub(super) fn header_text(response: &Response, name: HeaderName) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Retry-After` in seconds, when it is a number.
pub(super) fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// True when a browser following `location` stays on `base`: no Location,
/// a path with one leading `/` (not `//` or `/\`), or an absolute URL on
/// `base` itself.
pub(super) fn stays_on_origin(location: &str, base: &str) -> bool {
    let path = location
        .strip_prefix(base)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .unwrap_or(location);
    location.is_empty()
        || path.is_empty()
        || (path.starts_with('/')
            && !path.starts_with("//")
            && !path.starts_with("/\\")
            && !path.contains(['\\', '\r', '\n']))
}

#[cfg(test)]
mod tests {
    use reqwest::header::{CONNECTION, UPGRADE};

    use super::*;

    #[test]
    fn upgrade_headers_go_out_as_given_and_a_101_comes_back() {
        // A head, then bytes of another protocol that must not be read as one.
        let (addr, server) = crate::probe::one_shot_server(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\0\0\x12\x04",
        );
        let base = format!("http://{addr}");
        let response = Http::new(&base)
            .unwrap()
            .get_with(
                "/",
                &Jar::default(),
                &[(CONNECTION, "Upgrade, HTTP2-Settings"), (UPGRADE, "h2c")],
            )
            .unwrap();
        let request = server.join().unwrap().to_ascii_lowercase();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(header_text(&response, UPGRADE), "h2c");
        assert!(request.starts_with("get / http/1.1\r\n"), "{request}");
        assert!(request.contains("\r\nhost: 127.0.0.1:"), "{request}");
        assert!(
            request.contains("\r\nconnection: upgrade, http2-settings\r\n"),
            "{request}"
        );
        assert!(request.contains("\r\nupgrade: h2c\r\n"), "{request}");
    }

    #[test]
    fn only_same_origin_targets_stay() {
        let base = "http://127.0.0.1:8080";
        for ok in [
            "",
            "/",
            "/shop?x=1",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080",
        ] {
            assert!(stays_on_origin(ok, base), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "http://127.0.0.1:8080.evil.example/",
            "http://127.0.0.1:8080@evil.example/",
            "evil",
        ] {
            assert!(!stays_on_origin(bad, base), "{bad}");
        }
    }
}
