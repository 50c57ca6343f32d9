//! `cargo xtask verify-auth`: the reference POC's cross-zone sign-in check
//! list, plus the attacks it should withstand, run over HTTP against a live
//! stack through the edge. `cargo xtask test` runs it after the stack is up.
//!
//! One file per group of probes; each probe is a method of [`Verifier`]
//! that prints one line per check (✓ or ✗) and stops at the first failure.
//! Every request goes through one helper (`http`) over the client the load
//! generator shares (`crate::client`): a client that never follows
//! redirects, a cookie jar per simulated browser, and the sign-in through
//! the mock provider, which the journey walks step by step, checking every
//! answer.

mod cookies;
mod cross_site;
mod edge;
mod http;
mod journey;
mod login_csrf;
mod mock_idp;
mod rate_limit;
mod redirects;
mod replays;
mod revocation;
mod session_keys;
mod sign_out;

use anyhow::bail;

use self::http::Http;
use crate::project::step;

/// The mock provider's client, as xtask configures it for identity and the
/// mock (`OIDC_CLIENT_ID` / `MOCK_IDP_CLIENT_ID` default).
const CLIENT_ID: &str = "meridian";
/// The client secret xtask gives identity and the mock in every stack.
const CLIENT_SECRET: &str = crate::stack::DEV_CLIENT_SECRET;
/// An origin that is not ours, for every cross-site probe.
const EVIL_ORIGIN: &str = "https://evil.example";

/// What to verify, and how the stack under test was started.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// The edge's URL (the stack's PUBLIC_ORIGIN).
    #[arg(long, default_value = "http://localhost:8080")]
    pub base_url: String,
    /// The edge was started with `--trusted-proxies 127.0.0.1`: then
    /// `/_edge/status` must refuse a client named by X-Forwarded-For.
    /// Without it, a spoofed X-Forwarded-For must change nothing.
    #[arg(long)]
    pub trusted_proxy_edge: bool,
}

/// Runs every probe against the stack at `base` (an edge that trusts no
/// proxy, as `cargo xtask dev` and `start` run it).
/// Runs every probe; stops at the first failed check.
pub fn run_with(options: &Options) -> anyhow::Result<()> {
    step(&format!(
        "Verifying sign-in across zones at {}",
        options.base_url
    ));
    let mut v = Verifier::new(options)?;
    v.anonymous_everywhere()?;
    let alice = v.sign_in_from_protected_page("alice")?;
    v.signed_in_everywhere(&alice, "alice")?;
    v.replays_and_forgeries_fail(&alice)?;
    v.login_csrf_fresh_victim()?;
    v.login_csrf_signed_in_victim(&alice)?;
    v.tampered_cookie_is_anonymous(&alice)?;
    v.duplicate_cookies_are_anonymous(&alice)?;
    v.personalised_responses_are_not_stored(&alice)?;
    v.foreign_referer_stays_on_origin()?;
    v.api_return_to_goes_home()?;
    v.cross_site_writes_are_refused()?;
    v.h2c_upgrade_is_a_plain_request()?;
    v.websocket_only_where_declared()?;
    v.edge_status_only_for_trusted_peers()?;
    v.sign_out_everywhere_else_reaches_every_zone()?;
    v.logout_needs_a_same_origin_post(&alice)?;
    v.sign_out_ends_at_the_provider(&alice)?;
    v.mock_idp_enforces_oauth_rules()?;
    v.session_keys_are_public_halves_only()?;
    v.login_is_rate_limited()?;
    let skipped = match v.skipped {
        0 => String::new(),
        n => format!(" ({n} skipped, see above)"),
    };
    println!("    All {} checks passed{skipped}.", v.passed);
    Ok(())
}

/// The state of one verify-auth run.
struct Verifier {
    http: Http,
    trusted_proxy_edge: bool,
    passed: usize,
    skipped: usize,
    /// The main journey's callback URL and the login cookie that went with
    /// it (for the replay check).
    last_login: Option<(String, String)>,
}

impl Verifier {
    fn new(options: &Options) -> anyhow::Result<Self> {
        Ok(Self {
            http: Http::new(&options.base_url)?,
            trusted_proxy_edge: options.trusted_proxy_edge,
            passed: 0,
            skipped: 0,
            last_login: None,
        })
    }

    /// Prints the check's line; a failure stops the run with `detail`.
    fn check(
        &mut self,
        what: &str,
        ok: bool,
        detail: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        if ok {
            self.passed += 1;
            println!("    ✓ {what}");
            Ok(())
        } else {
            println!("    ✗ {what}");
            bail!("verify-auth: {what} failed: {}", detail())
        }
    }

    /// Prints a check that this stack cannot judge, and why.
    fn skip(&mut self, what: &str, why: &str) {
        self.skipped += 1;
        println!("    – {what} (skipped: {why})");
    }

    fn base(&self) -> &str {
        self.http.base()
    }
}
