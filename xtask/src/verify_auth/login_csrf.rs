//! Login CSRF: an attacker signs in at the provider in their own browser,
//! stops before the callback and sends the callback link to a victim. The
//! login cookie binds the attempt to the attacker's browser, so the victim
//! lands on the error page, signed in as no one new.

use anyhow::Context as _;
use contracts::Zone;
use reqwest::StatusCode;
use reqwest::blocking::Response;

use super::Verifier;
use super::http::{Jar, cookies, location};

/// Who the attacker signs in as.
const ATTACKER: &str = "mallory";

impl Verifier {
    /// (a) A victim with no session follows the attacker's link: once with
    /// no login cookie at all, once in the middle of a sign-in of their own
    /// (a login cookie that belongs to another attempt).
    pub(super) fn login_csrf_fresh_victim(&mut self) -> anyhow::Result<()> {
        let callback = self.attacker_callback()?;
        let mut victim = Jar::default();
        let response = self.http.get(&callback, &victim)?;
        victim.absorb(response.headers());
        self.lands_on_sign_in_error(
            "login CSRF: a fresh victim opening the attacker's callback link lands on /auth/error",
            &response,
        )?;
        self.is_anonymous("…and is not signed in", &victim)?;

        let callback = self.attacker_callback()?;
        let mut victim = Jar::default();
        self.start_login("victim", "/", &mut victim)?;
        let response = self.http.get(&callback, &victim)?;
        victim.absorb(response.headers());
        self.lands_on_sign_in_error(
            "login CSRF: a victim mid-sign-in (their own login cookie) lands on /auth/error",
            &response,
        )?;
        self.is_anonymous("…and is not signed in", &victim)
    }

    /// (b) A signed-in victim follows the attacker's link: still themselves.
    pub(super) fn login_csrf_signed_in_victim(&mut self, alice: &Jar) -> anyhow::Result<()> {
        let callback = self.attacker_callback()?;
        let response = self.http.get(&callback, alice)?;
        let touched = cookies::set_cookie(response.headers(), self.http.session_cookie())
            .map(|c| c.to_string());
        self.lands_on_sign_in_error(
            "login CSRF: a signed-in victim opening the attacker's callback link lands on /auth/error",
            &response,
        )?;
        self.check(
            "…the response neither replaces nor clears the victim's session cookie",
            touched.is_none(),
            || format!("Set-Cookie: {touched:?}"),
        )?;
        for zone in [Zone::Identity, Zone::Shop] {
            self.is_signed_in_as(
                &format!("…and {zone} zone still sees alice, not {ATTACKER}"),
                zone,
                alice,
                "alice",
            )?;
        }
        Ok(())
    }

    /// The attacker's half: /auth/login and the provider's form in the
    /// attacker's own browser; the callback URL is not followed.
    fn attacker_callback(&self) -> anyhow::Result<String> {
        let mut attacker = Jar::default();
        let mut flow = self.start_login(ATTACKER, "/", &mut attacker)?;
        self.authorize(&mut flow)
    }

    /// A redirect to `/auth/error?…` that sets no session, never a 5xx.
    fn lands_on_sign_in_error(&mut self, what: &str, response: &Response) -> anyhow::Result<()> {
        let status = response.status();
        let to = location(response);
        let session = cookies::set_cookie(response.headers(), self.http.session_cookie());
        let sets_session = session
            .as_ref()
            .is_some_and(|c| c.max_age() != Some(cookie::time::Duration::ZERO));
        let session = session.map(|c| c.to_string());
        self.check(
            what,
            status.is_redirection() && to.starts_with("/auth/error?reason=") && !sets_session,
            || format!("{status} → {to:?}, Set-Cookie: {session:?}"),
        )?;
        let page = self.http.get(&to, &Jar::default())?;
        let page_status = page.status();
        let html = page
            .text()
            .with_context(|| format!("reading GET {to} ({page_status})"))?;
        self.check(
            "…whose page explains it (no 5xx)",
            !page_status.is_server_error()
                && page_status != StatusCode::NOT_FOUND
                && html.contains("<h1"),
            || format!("GET {to} answered {page_status}"),
        )
    }

    /// Checks that `jar` is anonymous in the identity zone.
    fn is_anonymous(&mut self, what: &str, jar: &Jar) -> anyhow::Result<()> {
        let me = self.http.me(Zone::Identity.me_path(), jar)?;
        self.check(what, me["authenticated"] == false, || me.to_string())
    }
}
