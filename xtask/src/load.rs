//! A load generator for the whole app set through the edge: many virtual
//! users, each signing in through the mock IdP (carrying the login cookie
//! from `/auth/login` to `/auth/callback`, as a browser does), viewing
//! signed-in pages of every zone, writing to the cart, signing out (at
//! identity, then at the provider, back to `/auth/signed-out`), and again,
//! until the time is up. Every answer is checked: a status of 400 or more
//! or a transport error is a failure; a signed-in request answered as
//! anonymous is a lost session; a sign-out that does not end on the
//! signed-out page, or a session still valid after it, is a failure too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use contracts::Zone;
use contracts::zone::{AuthPath, MOCK_IDP_PREFIX};
use reqwest::header::{COOKIE, HeaderValue, LOCATION, ORIGIN};
use reqwest::{Client, Method, RequestBuilder, Response};
use tokio::time::Instant;

use crate::client::sign_in::{SignIn, StepCookies};
use crate::client::{self, Site, path_of};

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Concurrent virtual users.
    pub users: usize,
    /// How long they keep going (each finishes its sign-out after).
    pub duration: Duration,
    /// Page views between a sign-in and its sign-out.
    pub views_per_session: usize,
    /// Whether each session ends with a sign-out (and the check that the
    /// session is gone); without, users only sign in, again and again.
    pub sign_out: bool,
}

/// Signed-in pages of every zone, visited in turn, and whether the answer
/// is HTML with the account menu (else JSON from a `/me` endpoint or the
/// cart badge).
const PAGES: &[(&str, Kind)] = &[
    ("/", Kind::Page),
    ("/shop", Kind::Page),
    ("/shop/cart", Kind::Page),
    ("/auth/profile", Kind::Page),
    ("/shop/api/cart/count", Kind::Badge),
    ("/account-area", Kind::Page),
    ("/shop/orders", Kind::Page),
    ("/auth/me", Kind::Me),
    ("/auth/sessions", Kind::Page),
    ("/shop/p/brass-pen", Kind::Page),
    ("/shop/api/me", Kind::Me),
    ("/api/me", Kind::Me),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Page,
    Me,
    Badge,
}

/// One failed request: when (since the run started) and what.
#[derive(Clone, Debug)]
pub struct Failure {
    pub at: Duration,
    pub what: String,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    pub elapsed: Duration,
    pub requests: u64,
    /// Answers by status class ("2xx", "3xx", "4xx", "5xx").
    pub statuses: BTreeMap<&'static str, u64>,
    pub transport_errors: u64,
    pub logins: u64,
    pub logouts: u64,
    pub lost_sessions: u64,
    pub failures: Vec<Failure>,
    /// Latency of every answered request, in microseconds.
    latencies: Vec<u32>,
    /// Wall time of every completed sign-in flow, in microseconds.
    sign_ins: Vec<u32>,
}

impl Report {
    /// Requests that failed (status ≥ 400, transport error, wrong answer).
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// The latency at quantile `q` (0..=1) in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }

    /// The wall time of a whole sign-in flow at quantile `q`, in ms.
    pub fn sign_in_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.sign_ins, q)
    }

    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Failures that happened in `from..to` (since the run started).
    pub fn failures_between(&self, from: Duration, to: Duration) -> usize {
        self.failures
            .iter()
            .filter(|f| f.at >= from && f.at < to)
            .count()
    }

    /// A few lines for the terminal.
    pub fn summary(&self, title: &str) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        let mut text = format!(
            "    {title}: {} requests in {:.1}s ({:.0}/s), {}; transport errors {}\n    \
             sign-ins {}, sign-outs {}, lost sessions {}, failures {}; latency p50 {:.1} ms, p99 {:.1} ms",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            statuses.join(", "),
            self.transport_errors,
            self.logins,
            self.logouts,
            self.lost_sessions,
            self.failed(),
            self.latency_ms(0.5),
            self.latency_ms(0.99),
        );
        for failure in self.failures.iter().take(5) {
            text.push_str(&format!(
                "\n      at {:.2}s: {}",
                failure.at.as_secs_f64(),
                failure.what
            ));
        }
        if self.failures.len() > 5 {
            text.push_str(&format!("\n      … and {} more", self.failures.len() - 5));
        }
        text
    }

    fn merge(&mut self, other: Report) {
        self.requests += other.requests;
        for (class, n) in other.statuses {
            *self.statuses.entry(class).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        self.logins += other.logins;
        self.logouts += other.logouts;
        self.lost_sessions += other.lost_sessions;
        self.failures.extend(other.failures);
        self.latencies.extend(other.latencies);
        self.sign_ins.extend(other.sign_ins);
    }
}

/// Quantile `q` (0..=1) of sorted microseconds, in milliseconds.
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Runs `plan` against the edge at `base` (e.g. `http://localhost:8080`);
/// `started` is the clock failures are timed against.
pub async fn run(base: String, plan: Plan, started: Instant) -> anyhow::Result<Report> {
    let http = client::async_client(plan.users)?;
    let site = Arc::new(Site::new(&base)?);
    let deadline = Instant::now() + plan.duration;
    let tasks: Vec<_> = (0..plan.users)
        .map(|n| {
            let user = VirtualUser::new(http.clone(), site.clone(), format!("load{n}"), started)?;
            Ok(tokio::spawn(user.run(n, plan, deadline)))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut report = Report::default();
    for task in tasks {
        report.merge(task.await.context("a virtual user panicked")?);
    }
    report.elapsed = started.elapsed();
    report.latencies.sort_unstable();
    report.sign_ins.sort_unstable();
    report.failures.sort_by_key(|f| f.at);
    Ok(report)
}

/// Signs `username` in through the mock IdP at `base`; the `Cookie` header
/// their browser then sends (the session cookie, and the session token
/// in token mode).
pub async fn sign_in(base: &str, username: &str) -> anyhow::Result<String> {
    let site = Arc::new(Site::new(base)?);
    let mut user = VirtualUser::new(
        client::async_client(1)?,
        site,
        username.to_owned(),
        Instant::now(),
    )?;
    match user.sign_in().await {
        Some(cookies) => Ok(cookies),
        None => anyhow::bail!(
            "cannot sign {username} in at {base}:\n{}",
            user.report.summary("sign-in")
        ),
    }
}

struct VirtualUser {
    http: Client,
    site: Arc<Site>,
    /// The site's origin, for the `Origin` header of every write.
    origin: HeaderValue,
    name: String,
    started: Instant,
    report: Report,
}

impl VirtualUser {
    fn new(http: Client, site: Arc<Site>, name: String, started: Instant) -> anyhow::Result<Self> {
        let origin = HeaderValue::from_str(site.base())
            .with_context(|| format!("{} cannot be an Origin header", site.base()))?;
        Ok(Self {
            http,
            site,
            origin,
            name,
            started,
            report: Report::default(),
        })
    }

    async fn run(mut self, n: usize, plan: Plan, deadline: Instant) -> Report {
        let views = plan.views_per_session;
        let mut page = n;
        while Instant::now() < deadline {
            let began = Instant::now();
            let Some(session) = self.sign_in().await.and_then(|t| self.session_header(&t)) else {
                // The failure is recorded; do not spin on a dead service.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            self.report.logins += 1;
            let micros = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
            self.report.sign_ins.push(micros);
            for view in 0..views {
                if Instant::now() >= deadline {
                    break;
                }
                if view == views / 2 {
                    self.set_cart_line(&session, 1 + (page % 5)).await;
                }
                let (path, kind) = PAGES[page % PAGES.len()];
                page += 1;
                self.view(path, kind, &session).await;
            }
            if plan.sign_out {
                self.sign_out(&session).await;
            }
        }
        self.report
    }

    /// The whole OAuth round trip through the mock IdP (the steps
    /// `SignIn` names, each sent, timed and checked); the session token.
    async fn sign_in(&mut self) -> Option<String> {
        let mut flow = match SignIn::new(&self.site, &self.name, "/") {
            Ok(flow) => flow,
            Err(err) => {
                self.fail(format!("sign-in start: {err:#}"));
                return None;
            }
        };
        while let Some(step) = flow.step(&self.site) {
            let mut request = self.http.request(step.method, step.url);
            if let Some(form) = &step.form {
                request = request.form(form);
            }
            if let StepCookies::Browser(Some(cookie)) = step.cookies {
                request = request.header(COOKIE, cookie);
            }
            let response = self.send(step.what, request).await?;
            if let Err(err) = flow.read(&self.site, response.status(), response.headers()) {
                self.fail(format!("{}: {err:#}", step.what));
                return None;
            }
        }
        flow.cookie_header(&self.site)
    }

    /// The `Cookie` header a signed-in browser sends, built once per session.
    fn session_header(&mut self, cookies: &str) -> Option<HeaderValue> {
        match HeaderValue::from_str(cookies) {
            Ok(value) => Some(value),
            Err(err) => {
                self.fail(format!(
                    "the cookies {cookies:?} are no header value: {err}"
                ));
                None
            }
        }
    }

    async fn view(&mut self, path: &str, kind: Kind, session: &HeaderValue) {
        let request = self
            .request(Method::GET, path)
            .header(COOKIE, session.clone());
        let Some(response) = self.send(path, request).await else {
            return;
        };
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => {
                self.report.transport_errors += 1;
                self.fail(format!("GET {path}: reading the body: {err}"));
                return;
            }
        };
        let signed_in = match kind {
            Kind::Page => body.contains(r#"data-signed-in="true""#) && body.contains(&self.name),
            Kind::Me | Kind::Badge => match serde_json::from_str::<serde_json::Value>(&body) {
                // A broken answer is a failure of its own, not a lost session.
                Err(err) => {
                    self.fail(format!("GET {path}: not JSON: {err}"));
                    return;
                }
                Ok(me) if matches!(kind, Kind::Me) => me["user"]["username"] == self.name.as_str(),
                Ok(badge) => badge["items"].is_u64(),
            },
        };
        if !signed_in {
            self.report.lost_sessions += 1;
            self.fail(format!("GET {path}: answered as if signed out"));
        }
    }

    /// A cart write (a bounded one: the line is set, not grown).
    async fn set_cart_line(&mut self, session: &HeaderValue, quantity: usize) {
        let quantity = quantity.to_string();
        let request = self
            .request(Method::POST, "/shop/api/cart/update")
            .header(COOKIE, session.clone())
            .header(ORIGIN, self.origin.clone())
            .header("accept", "application/json")
            .form(&[("slug", "enamel-mug"), ("quantity", quantity.as_str())]);
        self.send("cart update", request).await;
    }

    /// Signs out as a browser does: identity ends the session and sends
    /// the browser to the provider's logout endpoint, which sends it back
    /// to `/auth/signed-out`. Then checks that the store has forgotten the
    /// session.
    async fn sign_out(&mut self, session: &HeaderValue) {
        let request = self
            .request(Method::POST, AuthPath::Logout.path())
            .header(COOKIE, session.clone())
            .header(ORIGIN, self.origin.clone());
        let Some(response) = self.send("sign-out", request).await else {
            return;
        };
        self.report.logouts += 1;
        self.follow_sign_out(&response).await;
        let me_path = Zone::Identity.me_path();
        // With the session cookie alone: the store must have forgotten the
        // session at once. (A session token kept beside it is refused by
        // every zone once it has read the revocation log, within a second:
        // verify-auth measures that bound.)
        let prefix = format!("{}=", self.site.session_cookie());
        let session_only = session
            .to_str()
            .ok()
            .and_then(|all| all.split("; ").find(|pair| pair.starts_with(&prefix)))
            .and_then(|pair| HeaderValue::from_str(pair).ok());
        let Some(session_only) = session_only else {
            self.fail("after sign-out: no session cookie to check with".into());
            return;
        };
        let check = self
            .request(Method::GET, me_path)
            .header(COOKIE, session_only);
        let Some(me) = self.send("after sign-out", check).await else {
            return;
        };
        let me: serde_json::Value = match me.json().await {
            Ok(me) => me,
            Err(err) => {
                self.fail(format!("after sign-out: {me_path} is not JSON: {err}"));
                return;
            }
        };
        if me["authenticated"] != false {
            self.fail(format!("the session outlived its sign-out: {me}"));
        }
    }

    /// The rest of a sign-out after `POST /auth/logout` answered `response`:
    /// the provider's logout endpoint, then the signed-out page (200).
    async fn follow_sign_out(&mut self, response: &Response) {
        let provider_logout = format!("{MOCK_IDP_PREFIX}/logout");
        let Some(provider) = self.redirect_to("sign-out", response, &provider_logout) else {
            return;
        };
        let Some(back) = self
            .send("provider sign-out", self.http.get(&provider))
            .await
        else {
            return;
        };
        let Some(signed_out) =
            self.redirect_to("provider sign-out", &back, AuthPath::SignedOut.path())
        else {
            return;
        };
        let Some(page) = self
            .send("signed-out page", self.http.get(&signed_out))
            .await
        else {
            return;
        };
        if page.status() != reqwest::StatusCode::OK {
            self.fail(format!("signed-out page: {}", page.status()));
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.site.base()))
    }

    /// Sends and times `request`; `None` (and a failure) on a transport
    /// error or a status of 400 or more.
    async fn send(&mut self, what: &str, request: RequestBuilder) -> Option<Response> {
        let sent = Instant::now();
        self.report.requests += 1;
        match request.send().await {
            Err(err) => {
                self.report.transport_errors += 1;
                self.fail(format!("{what}: {err}"));
                None
            }
            Ok(response) => {
                let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                self.report.latencies.push(micros);
                let status = response.status().as_u16();
                let class = match status {
                    200..=299 => "2xx",
                    300..=399 => "3xx",
                    400..=499 => "4xx",
                    _ => "5xx",
                };
                *self.report.statuses.entry(class).or_default() += 1;
                if status >= 400 {
                    self.fail(format!("{what}: {status}"));
                    return None;
                }
                Some(response)
            }
        }
    }

    /// The `Location` of a redirect, or a failure.
    fn redirect(&mut self, what: &str, response: &Response) -> Option<String> {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| self.site.url(v));
        if location.is_none() {
            self.fail(format!("{what}: {} without a Location", response.status()));
        }
        location
    }

    /// The `Location` of a redirect that must lead to `path` (any query),
    /// or a failure.
    fn redirect_to(&mut self, what: &str, response: &Response, path: &str) -> Option<String> {
        let location = self.redirect(what, response)?;
        if path_of(&location).ok().as_deref() != Some(path) {
            self.fail(format!(
                "{what}: {} to {location}, expected {path}",
                response.status()
            ));
            return None;
        }
        Some(location)
    }

    fn fail(&mut self, what: String) {
        self.report.failures.push(Failure {
            at: self.started.elapsed(),
            what,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(secs: f64) -> Failure {
        Failure {
            at: Duration::from_secs_f64(secs),
            what: "GET /: 502".into(),
        }
    }

    #[test]
    fn reports_merge_and_sort_into_quantiles() {
        let mut total = Report::default();
        for latencies in [vec![3_000, 1_000], vec![2_000, 100_000]] {
            let mut part = Report {
                requests: latencies.len() as u64,
                latencies,
                ..Report::default()
            };
            part.statuses.insert("2xx", part.requests);
            total.merge(part);
        }
        total.latencies.sort_unstable();
        total.elapsed = Duration::from_secs(2);
        assert_eq!(total.requests, 4);
        assert_eq!(total.statuses["2xx"], 4);
        assert!((total.latency_ms(0.0) - 1.0).abs() < f64::EPSILON);
        assert!((total.latency_ms(1.0) - 100.0).abs() < f64::EPSILON);
        assert!((total.per_second() - 2.0).abs() < f64::EPSILON);
        assert!(Report::default().latency_ms(0.5).abs() < f64::EPSILON);
    }

    #[test]
    fn failures_are_counted_per_window() {
        let report = Report {
            failures: vec![failure(0.5), failure(1.2), failure(1.3), failure(4.0)],
            ..Report::default()
        };
        let s = Duration::from_secs_f64;
        assert_eq!(report.failures_between(s(0.0), s(1.0)), 1);
        assert_eq!(report.failures_between(s(1.0), s(2.0)), 2);
        assert_eq!(report.failures_between(s(2.0), Duration::MAX), 1);
        assert_eq!(report.failed(), 4);
        assert!(report.summary("t").contains("failures 4"));
    }
}
