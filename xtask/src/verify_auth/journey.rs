//! The reference POC's journey (anonymous everywhere; a protected page →
//! login → mock provider → callback with the login cookie → back on the
//! page, signed in everywhere), and the sign-in steps other probes reuse.

use anyhow::Context as _;
use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;
use cookie::Cookie;
use cookie::SameSite;
use reqwest::StatusCode;
use reqwest::blocking::Response;

use super::Verifier;
use super::http::{Jar, cookies, location};
use crate::client::sign_in::{self, SignIn, Stage};

/// The login cookie lives at most this long (contract: 600 s).
const LOGIN_COOKIE_MAX_AGE: i64 = 600;

impl Verifier {
    pub(super) fn anonymous_everywhere(&mut self) -> anyhow::Result<()> {
        for zone in Zone::ALL {
            let me = self.http.me(zone.me_path(), &Jar::default())?;
            self.check(
                &format!("{zone} zone reports authenticated=false without a cookie"),
                me["authenticated"] == false && me["zone"] == zone.name() && me["user"].is_null(),
                || me.to_string(),
            )?;
        }
        Ok(())
    }

    /// The POC's journey, in one browser, through the shared sign-in
    /// (`probe::client::sign_in`) with every answer checked on the way:
    /// returns its cookie jar (signed in as `username`).
    pub(super) fn sign_in_from_protected_page(&mut self, username: &str) -> anyhow::Result<Jar> {
        let mut jar = Jar::default();
        let first = self.http.get("/shop/orders", &jar)?;
        let login = location(&first);
        self.check(
            "an anonymous /shop/orders redirects (302) to /auth/login?return_to=/shop/orders",
            first.status() == StatusCode::FOUND && login == "/auth/login?return_to=/shop/orders",
            || format!("{} → {login}", first.status()),
        )?;
        let mut flow = SignIn::at_login(self.http.site(), username, &login);
        let start = self.http.sign_in_request(&flow, &mut jar)?;
        let authorize = location(&start);
        self.check(
            "/auth/login redirects to the mock IdP's authorize endpoint with PKCE S256",
            start.status() == StatusCode::FOUND
                && authorize.starts_with(&format!("{}{MOCK_IDP_PREFIX}/authorize?", self.base()))
                && authorize.contains("code_challenge_method=S256")
                && authorize.contains("nonce=")
                && authorize.contains("state="),
            || format!("{} → {authorize}", start.status()),
        )?;
        let login_cookie = cookies::set_cookie(start.headers(), self.http.login_cookie());
        self.check(
            &format!(
                "…and sets the login cookie {} (HttpOnly, SameSite=Lax, Path=/, Max-Age ≤ {LOGIN_COOKIE_MAX_AGE})",
                self.http.login_cookie()
            ),
            login_cookie.as_ref().is_some_and(is_short_lived_login_cookie),
            || format!("Set-Cookie: {:?}", cookies::lines(start.headers())),
        )?;
        read(&mut flow, self, &start)?;
        let form = self.http.get(&authorize, &jar)?;
        self.check(
            "the mock IdP shows its sign-in form",
            form.status() == StatusCode::OK,
            || form.status().to_string(),
        )?;
        let submitted = self.http.sign_in_request(&flow, &mut jar)?;
        let callback = location(&submitted);
        self.check(
            &format!("signing in as {username} at the mock IdP returns a code to /auth/callback"),
            submitted.status() == StatusCode::FOUND && self.is_callback(&callback),
            || format!("{} → {callback}", submitted.status()),
        )?;
        read(&mut flow, self, &submitted)?;
        let login_value = jar
            .get(self.http.login_cookie())
            .context("the browser lost its login cookie before the callback")?
            .to_owned();
        let finish = self.http.sign_in_request(&flow, &mut jar)?;
        let back = location(&finish);
        self.check(
            "the callback (with the login cookie) redirects back to /shop/orders",
            finish.status() == StatusCode::FOUND && back == "/shop/orders",
            || format!("{} → {back}", finish.status()),
        )?;
        self.check(
            "…and clears the login cookie",
            cookies::clears(finish.headers(), self.http.login_cookie()),
            || format!("{:?}", cookies::lines(finish.headers())),
        )?;
        let cookie = cookies::set_cookie(finish.headers(), self.http.session_cookie());
        self.check(
            "the session cookie is HttpOnly, SameSite=Lax, Path=/, has Max-Age and no Domain",
            cookie.as_ref().is_some_and(|c| {
                is_first_party(c) && c.max_age().is_some_and(|age| !age.is_zero())
            }),
            || format!("{:?}", cookies::lines(finish.headers())),
        )?;
        read(&mut flow, self, &finish)?;
        let token = jar
            .get(self.http.session_cookie())
            .context("the browser holds no session cookie after the callback")?;
        self.check(
            "the session token has at least 128 bits",
            token.len() >= 22,
            || format!("{token:?}"),
        )?;
        self.last_login = Some((callback, login_value));
        Ok(jar)
    }

    pub(super) fn signed_in_everywhere(&mut self, jar: &Jar, username: &str) -> anyhow::Result<()> {
        let page = self.http.get("/shop/orders", jar)?;
        let status = page.status();
        let html = page.text().context("reading GET /shop/orders")?;
        self.check(
            "/shop/orders renders for the signed-in user",
            status == StatusCode::OK && html.contains(&format!("data-user=\"{username}\"")),
            || status.to_string(),
        )?;
        for zone in Zone::ALL {
            self.is_signed_in_as(
                &format!("{zone} zone sees the same session (user.username = {username})"),
                zone,
                jar,
                username,
            )?;
        }
        let home = self.http.get("/", jar)?.text().context("reading GET /")?;
        self.check(
            "the public home page greets the user by name",
            home.contains(&format!("Welcome back, {username}")),
            || "no greeting".into(),
        )
    }

    /// Checks that `zone`'s `/…/me` knows `jar` as `username`.
    pub(super) fn is_signed_in_as(
        &mut self,
        what: &str,
        zone: Zone,
        jar: &Jar,
        username: &str,
    ) -> anyhow::Result<()> {
        let me = self.http.me(zone.me_path(), jar)?;
        self.check(
            what,
            me["authenticated"] == true
                && me["zone"] == zone.name()
                && me["user"]["username"] == username,
            || me.to_string(),
        )
    }

    /// True when `url` is a redirect to our callback with a code.
    pub(super) fn is_callback(&self, url: &str) -> bool {
        sign_in::is_callback(self.http.site(), url)
    }

    /// `GET /auth/login?return_to=…` in `jar` (which takes the login
    /// cookie): the sign-in, now at the provider, as `username`.
    pub(super) fn start_login(
        &self,
        username: &str,
        return_to: &str,
        jar: &mut Jar,
    ) -> anyhow::Result<SignIn> {
        let mut flow = SignIn::new(self.http.site(), username, return_to)?;
        self.http
            .advance(&mut flow, jar)
            .with_context(|| format!("starting a sign-in for {return_to}"))?;
        Ok(flow)
    }

    /// Submits the provider's form of `flow` (at the provider): the
    /// callback URL the provider sends the browser to (not followed).
    pub(super) fn authorize(&self, flow: &mut SignIn) -> anyhow::Result<String> {
        // The provider's form is sent without the browser's cookies.
        self.http.advance(flow, &mut Jar::default())?;
        match flow.stage() {
            Stage::Callback { url, .. } if self.is_callback(url) => Ok(url.clone()),
            stage => anyhow::bail!("the provider's form led to {stage:?}, not our callback"),
        }
    }

    /// A whole sign-in as `username` in a fresh browser, ending on
    /// `return_to`: the callback's answer and the browser's jar.
    pub(super) fn sign_in_to(
        &self,
        username: &str,
        return_to: &str,
    ) -> anyhow::Result<(Response, Jar)> {
        let mut jar = Jar::default();
        let mut flow = self.start_login(username, return_to, &mut jar)?;
        self.authorize(&mut flow)?;
        let finish = self.http.advance(&mut flow, &mut jar)?;
        Ok((finish, jar))
    }

    /// A fresh browser signed in as `username`.
    pub(super) fn sign_in(&self, username: &str) -> anyhow::Result<Jar> {
        self.sign_in_to(username, "/")
            .map(|(_, jar)| jar)
            .with_context(|| format!("cannot sign {username} in"))
    }
}

/// Lets `flow` read `response` (already checked by the journey).
fn read(flow: &mut SignIn, verifier: &Verifier, response: &Response) -> anyhow::Result<()> {
    flow.read(verifier.http.site(), response.status(), response.headers())
}

/// HttpOnly, SameSite=Lax, Path=/ and no Domain: a cookie only this origin
/// sends, and never to a script.
fn is_first_party(cookie: &Cookie<'_>) -> bool {
    cookie.http_only() == Some(true)
        && cookie.same_site() == Some(SameSite::Lax)
        && cookie.path() == Some("/")
        && cookie.domain().is_none()
}

/// The login cookie's `Set-Cookie`: a value of some length, HttpOnly,
/// SameSite=Lax, Path=/, no Domain, 0 < Max-Age ≤ 600.
fn is_short_lived_login_cookie(cookie: &Cookie<'_>) -> bool {
    // `name=value` longer than 20 characters.
    let pair_len = cookie.name().len() + 1 + cookie.value().len();
    pair_len > 20
        && is_first_party(cookie)
        && cookie
            .max_age()
            .is_some_and(|age| (1..=LOGIN_COOKIE_MAX_AGE).contains(&age.whole_seconds()))
}
