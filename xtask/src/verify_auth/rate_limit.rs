//! The edge's per-client-IP rate limit on anonymous writes: `GET
//! /auth/login` floods get 429 with `Retry-After` and a branded page, the
//! limit lifts again, and a signed-in user's pages keep answering while
//! the flood goes on (the figures go into the flood report).

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use reqwest::Method;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use shared_auth::token::random_token;

use super::Verifier;
use super::http::{Http, Jar, header_text, retry_after};

const LOGIN: &str = "/auth/login?return_to=/";
/// A 429 must come within this many back-to-back requests (the compiled-in
/// burst is 20).
const MAX_REQUESTS_BEFORE_429: usize = 200;
/// The longest `Retry-After` the probe accepts and waits out.
const MAX_RETRY_AFTER: u64 = 60;
/// The flood: this many clients for this long.
const FLOOD_CLIENTS: usize = 8;
const FLOOD_FOR: Duration = Duration::from_secs(3);
/// After the flood the bucket is empty; the compiled-in one refills 20
/// tokens at 5/s in 4 s. Waiting this long leaves the browser tests that
/// run next from the same IP a full bucket.
const REFILL_WAIT: Duration = Duration::from_secs(5);

/// What the flooding clients saw.
#[derive(Default)]
struct FloodTally {
    requests: u64,
    limited: u64,
    server_errors: u64,
    transport_errors: u64,
}

/// What the signed-in client saw during the flood.
#[derive(Default)]
struct UserTally {
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

impl Verifier {
    pub(super) fn login_is_rate_limited(&mut self) -> anyhow::Result<()> {
        // Signed in before the bucket is emptied (the sign-in needs it).
        let user = self.sign_in(&format!("erin-{}", random_token(6)))?;
        self.flood_gets_429_then_recovers()?;
        self.signed_in_users_survive_a_flood(&user)?;
        thread::sleep(REFILL_WAIT);
        Ok(())
    }

    fn flood_gets_429_then_recovers(&mut self) -> anyhow::Result<()> {
        let mut sent = 0;
        let limited = loop {
            if sent == MAX_REQUESTS_BEFORE_429 {
                break None;
            }
            sent += 1;
            let response = self.login_once()?;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                break Some(response);
            }
        };
        self.check(
            &format!("back-to-back GET /auth/login is answered 429 within {MAX_REQUESTS_BEFORE_429} requests"),
            limited.is_some(),
            || format!("{sent} requests, no 429"),
        )?;
        let limited = limited.context("no 429")?;
        let wait = retry_after(&limited);
        let html = header_text(&limited, CONTENT_TYPE).starts_with("text/html");
        let page = limited
            .text()
            .context("reading the 429 page of GET /auth/login")?;
        self.check(
            &format!("…after {sent} requests, with Retry-After (seconds) and an HTML page"),
            wait.is_some_and(|w| (1..=MAX_RETRY_AFTER).contains(&w))
                && html
                && page.contains("<html"),
            || format!("Retry-After {wait:?}, HTML {html}"),
        )?;
        thread::sleep(Duration::from_secs(wait.unwrap_or(1)));
        let again = self.login_once()?.status();
        self.check(
            "…and after Retry-After, /auth/login answers again (302)",
            again == StatusCode::FOUND,
            || again.to_string(),
        )
    }

    /// A short flood of anonymous sign-in starts from several clients while
    /// a signed-in user keeps browsing; prints the figures.
    fn signed_in_users_survive_a_flood(&mut self, user: &Jar) -> anyhow::Result<()> {
        let until = Instant::now() + FLOOD_FOR;
        let started = Instant::now();
        let (flood, browsing) = thread::scope(|scope| {
            let flooders: Vec<_> = (0..FLOOD_CLIENTS)
                .map(|_| scope.spawn(|| flood_until(&self.http, until)))
                .collect();
            let browsing = browse_until(&self.http, user, until);
            let mut total = FloodTally::default();
            for flooder in flooders {
                match flooder.join() {
                    Ok(tally) => total.add(&tally),
                    Err(_) => bail!("a flooding thread panicked"),
                }
            }
            Ok((total, browsing))
        })?;
        let secs = started.elapsed().as_secs_f64().max(f64::EPSILON);
        let through = flood.requests - flood.limited - flood.transport_errors;
        println!(
            "      flood: {FLOOD_CLIENTS} clients for {:.1} s sent {} GET /auth/login ({:.0}/s); \
             the edge let {through} through ({:.1}/s) and answered {} with 429; \
             5xx {}, transport errors {}",
            secs,
            flood.requests,
            flood.requests as f64 / secs,
            through as f64 / secs,
            flood.limited,
            flood.server_errors,
            flood.transport_errors,
        );
        println!(
            "      meanwhile a signed-in user: {} requests (/shop, /auth/me), {} failed; p50 {:.1} ms, p99 {:.1} ms",
            browsing.latencies.len(),
            browsing.failures.len(),
            quantile_ms(&browsing.latencies, 0.5),
            quantile_ms(&browsing.latencies, 0.99),
        );
        self.check(
            "during the flood the edge limited /auth/login (429s) and nothing failed (no 5xx)",
            flood.limited > 0 && flood.server_errors == 0 && flood.transport_errors == 0,
            || {
                format!(
                    "429 {}, 5xx {}, transport errors {}",
                    flood.limited, flood.server_errors, flood.transport_errors
                )
            },
        )?;
        self.check(
            "…and every signed-in request during it was answered 200, signed in",
            !browsing.latencies.is_empty() && browsing.failures.is_empty(),
            || {
                browsing
                    .failures
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        )
    }

    /// One `GET /auth/login` from an empty browser, 429 or not.
    fn login_once(&self) -> anyhow::Result<reqwest::blocking::Response> {
        self.http
            .send_once(self.http.request(Method::GET, LOGIN, &Jar::default()))
    }
}

impl FloodTally {
    fn add(&mut self, other: &FloodTally) {
        self.requests += other.requests;
        self.limited += other.limited;
        self.server_errors += other.server_errors;
        self.transport_errors += other.transport_errors;
    }
}

/// One flooding client: `GET /auth/login` back to back until `until`.
fn flood_until(http: &Http, until: Instant) -> FloodTally {
    let mut tally = FloodTally::default();
    while Instant::now() < until {
        tally.requests += 1;
        match http.send_once(http.request(Method::GET, LOGIN, &Jar::default())) {
            Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                tally.limited += 1;
            }
            Ok(response) if response.status().is_server_error() => tally.server_errors += 1,
            Ok(_) => {}
            Err(_) => tally.transport_errors += 1,
        }
    }
    tally
}

/// The signed-in user: `/shop` and `/auth/me` in turn until `until`; every
/// answer must be 200 and signed in.
fn browse_until(http: &Http, user: &Jar, until: Instant) -> UserTally {
    let mut tally = UserTally::default();
    let mut turn = 0usize;
    while Instant::now() < until {
        let path = ["/shop", "/auth/me"][turn % 2];
        turn += 1;
        let started = Instant::now();
        let response = match http.send_once(http.request(Method::GET, path, user)) {
            Ok(response) => response,
            Err(err) => {
                tally.failures.push(format!("{path}: {err:#}"));
                continue;
            }
        };
        let status = response.status();
        let body = match response.text() {
            Ok(body) => body,
            Err(err) => {
                tally
                    .failures
                    .push(format!("{path}: reading the body: {err}"));
                continue;
            }
        };
        tally.latencies.push(started.elapsed());
        let signed_in = if path == "/auth/me" {
            body.contains("\"authenticated\":true")
        } else {
            body.contains(r#"data-signed-in="true""#)
        };
        if status != StatusCode::OK || !signed_in {
            tally
                .failures
                .push(format!("{path}: {status}, signed in: {signed_in}"));
        }
    }
    tally
}

/// The `q` quantile (0..=1) of `samples`, in milliseconds.
fn quantile_ms(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
