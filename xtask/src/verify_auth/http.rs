//! The one HTTP helper of verify-auth: a client that never follows
//! redirects, a cookie jar per simulated browser, the readers for what a
//! response says (Location, Set-Cookie, Retry-After), and a raw TCP
//! exchange for the upgrade requests reqwest will not send.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{COOKIE, HeaderName, LOCATION, ORIGIN, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode, Url};

use super::{LOGIN_COOKIE, SESSION_COOKIE};

/// No single request may hang the run.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `Retry-After` the helper waits out before retrying.
const MAX_POLITE_WAIT: Duration = Duration::from_secs(10);
/// Cookie-name prefix on https origins (`__Host-`).
const SECURE_PREFIX: &str = "__Host-";

/// The client for one stack (its base URL and cookie names).
#[derive(Clone)]
pub(super) struct Http {
    client: Client,
    base: String,
    session_cookie: String,
    login_cookie: String,
}

impl Http {
    pub(super) fn new(base: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let url = Url::parse(&base).with_context(|| format!("not a URL: {base}"))?;
        let prefix = if url.scheme() == "https" {
            SECURE_PREFIX
        } else {
            ""
        };
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            client,
            base,
            session_cookie: format!("{prefix}{SESSION_COOKIE}"),
            login_cookie: format!("{prefix}{LOGIN_COOKIE}"),
        })
    }

    /// The origin under test, without a trailing slash.
    pub(super) fn base(&self) -> &str {
        &self.base
    }

    /// The session cookie's name on this origin.
    pub(super) fn session_cookie(&self) -> &str {
        &self.session_cookie
    }

    /// The login cookie's name on this origin.
    pub(super) fn login_cookie(&self) -> &str {
        &self.login_cookie
    }

    /// `path` on the origin; absolute URLs are kept as they are.
    pub(super) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
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

    /// A zone's `/…/me` answer as JSON.
    pub(super) fn me(&self, path: &str, jar: &Jar) -> anyhow::Result<serde_json::Value> {
        self.get(path, jar)?
            .json()
            .with_context(|| format!("{path} is not JSON"))
    }

    /// The address the base URL names, when it is plain http (raw requests
    /// speak no TLS).
    fn plain_authority(&self) -> anyhow::Result<(String, Vec<std::net::SocketAddr>)> {
        let url = Url::parse(&self.base)?;
        if url.scheme() != "http" {
            bail!("raw requests need an http:// base URL, not {}", self.base);
        }
        let host = url.host_str().context("the base URL has no host")?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let addrs = url
            .socket_addrs(|| Some(80))
            .with_context(|| format!("cannot resolve {authority}"))?;
        Ok((authority, addrs))
    }

    /// Whether the base URL is plain http (raw requests possible).
    pub(super) fn is_plain_http(&self) -> bool {
        self.base.starts_with("http://")
    }

    /// Whether every address the base URL names is a loopback address.
    pub(super) fn is_loopback(&self) -> bool {
        Url::parse(&self.base)
            .ok()
            .and_then(|url| url.socket_addrs(|| Some(80)).ok())
            .is_some_and(|addrs| !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
    }

    /// Sends `GET path` with exactly `headers` (plus `Host`) over a fresh
    /// TCP connection and returns the response head: what reqwest refuses to
    /// send (`Connection: Upgrade`, `Upgrade: h2c`).
    pub(super) fn raw_get(&self, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<RawHead> {
        let (authority, addrs) = self.plain_authority()?;
        let mut stream = TcpStream::connect(&addrs[..])
            .with_context(|| format!("cannot connect to {authority}"))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .with_context(|| format!("raw GET {path}"))?;
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            if received.len() > 64 * 1024 {
                bail!("raw GET {path}: no end of the response head in 64 KiB");
            }
            let n = stream
                .read(&mut chunk)
                .with_context(|| format!("raw GET {path}: reading the answer"))?;
            if n == 0 {
                break received.len();
            }
            received.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&received[..end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("raw GET {path}: not an HTTP answer: {head:?}"))?;
        Ok(RawHead { status, head })
    }
}

/// The head of a response read off a raw connection.
pub(super) struct RawHead {
    pub(super) status: u16,
    pub(super) head: String,
}

impl RawHead {
    /// The first value of header `name` (case-insensitive).
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (found, value) = line.split_once(':')?;
            found
                .trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }

    /// The status line, for messages.
    pub(super) fn status_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }
}

/// The cookies one simulated browser holds for the origin.
#[derive(Clone, Debug, Default)]
pub(super) struct Jar(BTreeMap<String, String>);

impl Jar {
    /// A jar holding one cookie.
    pub(super) fn with(name: &str, value: &str) -> Self {
        let mut jar = Self::default();
        jar.0.insert(name.to_owned(), value.to_owned());
        jar
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The `Cookie` header, when the jar is not empty.
    fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Takes in the response's `Set-Cookie` headers as a browser would:
    /// an empty value or `Max-Age=0` removes the cookie.
    pub(super) fn absorb(&mut self, response: &Response) {
        for set in set_cookies(response) {
            let (pair, attributes) = set.split_once(';').unwrap_or((&set, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let expired = attributes
                .split(';')
                .any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            if value.is_empty() || expired {
                self.0.remove(name.trim());
            } else {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
}

/// Every `Set-Cookie` header of `response`.
pub(super) fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The `Set-Cookie` header for cookie `name`, if the response has one.
pub(super) fn set_cookie(response: &Response, name: &str) -> Option<String> {
    set_cookies(response)
        .into_iter()
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// True when the response gives cookie `name` a (non-empty) value.
pub(super) fn sets_cookie(response: &Response, name: &str) -> bool {
    set_cookie(response, name).is_some_and(|v| !v.starts_with(&format!("{name}=;")))
}

/// True when the response removes cookie `name`.
pub(super) fn clears_cookie(response: &Response, name: &str) -> bool {
    set_cookie(response, name)
        .is_some_and(|v| v.starts_with(&format!("{name}=;")) && v.contains("Max-Age=0"))
}

/// The attributes of a `Set-Cookie` value, trimmed (the pair first).
pub(super) fn cookie_parts(set_cookie: &str) -> Vec<&str> {
    set_cookie.split(';').map(str::trim).collect()
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

/// The query parameters of `url` (absolute, or a path on any origin).
pub(super) fn query_of(url: &str) -> anyhow::Result<HashMap<String, String>> {
    Ok(parse_url(url)?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// The path of `url` (absolute, or a path on any origin).
pub(super) fn path_of(url: &str) -> anyhow::Result<String> {
    Ok(parse_url(url)?.path().to_owned())
}

fn parse_url(url: &str) -> anyhow::Result<Url> {
    let absolute = if url.starts_with('/') {
        format!("http://x{url}")
    } else {
        url.to_owned()
    };
    Url::parse(&absolute).with_context(|| format!("not a URL: {url}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn raw_heads_are_read() {
        let raw = RawHead {
            status: 200,
            head: "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nX-A: b".into(),
        };
        assert_eq!(raw.header("Content-Type"), Some("text/html"));
        assert_eq!(raw.header("x-a"), Some("b"));
        assert_eq!(raw.status_line(), "HTTP/1.1 200 OK");
    }

    #[test]
    fn urls_and_paths_give_their_query() {
        let q = query_of("/auth/callback?code=c&state=s").unwrap();
        assert_eq!(q["code"], "c");
        assert_eq!(
            path_of("http://h:1/auth/signed-out?state=x").unwrap(),
            "/auth/signed-out"
        );
    }
}
