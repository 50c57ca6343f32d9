//! The reference POC's journey (anonymous everywhere; a protected page →
//! login → mock provider → callback with the login cookie → back on the
//! page, signed in everywhere), and the sign-in steps other probes reuse.

use anyhow::{Context as _, ensure};
use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;
use reqwest::{StatusCode, Url};

use super::Verifier;
use super::http::{Jar, clears_cookie, cookie_parts, location, query_of, set_cookie};

/// The login cookie lives at most this long (contract: 600 s).
const LOGIN_COOKIE_MAX_AGE: u64 = 600;

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

    /// The POC's journey, in one browser: returns its cookie jar (signed
    /// in as `username`).
    pub(super) fn sign_in_from_protected_page(&mut self, username: &str) -> anyhow::Result<Jar> {
        let mut jar = Jar::default();
        let first = self.http.get("/shop/orders", &jar)?;
        let login = location(&first);
        self.check(
            "an anonymous /shop/orders redirects (302) to /auth/login?return_to=/shop/orders",
            first.status() == StatusCode::FOUND && login == "/auth/login?return_to=/shop/orders",
            || format!("{} → {login}", first.status()),
        )?;
        let start = self.http.get(&login, &jar)?;
        jar.absorb(&start);
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
        let login_cookie = set_cookie(&start, self.http.login_cookie()).unwrap_or_default();
        self.check(
            &format!(
                "…and sets the login cookie {} (HttpOnly, SameSite=Lax, Path=/, Max-Age ≤ {LOGIN_COOKIE_MAX_AGE})",
                self.http.login_cookie()
            ),
            is_short_lived_login_cookie(&login_cookie),
            || format!("Set-Cookie: {login_cookie:?}"),
        )?;
        let form = self.http.get(&authorize, &jar)?;
        self.check(
            "the mock IdP shows its sign-in form",
            form.status() == StatusCode::OK,
            || form.status().to_string(),
        )?;
        let submitted = self.submit_authorize(&authorize, username)?;
        let callback = location(&submitted);
        self.check(
            &format!("signing in as {username} at the mock IdP returns a code to /auth/callback"),
            submitted.status() == StatusCode::FOUND && self.is_callback(&callback),
            || format!("{} → {callback}", submitted.status()),
        )?;
        let login_value = jar
            .get(self.http.login_cookie())
            .unwrap_or_default()
            .to_owned();
        let finish = self.http.get(&callback, &jar)?;
        jar.absorb(&finish);
        let back = location(&finish);
        self.check(
            "the callback (with the login cookie) redirects back to /shop/orders",
            finish.status() == StatusCode::FOUND && back == "/shop/orders",
            || format!("{} → {back}", finish.status()),
        )?;
        self.check(
            "…and clears the login cookie",
            clears_cookie(&finish, self.http.login_cookie()),
            || format!("{:?}", super::http::set_cookies(&finish)),
        )?;
        let cookie = set_cookie(&finish, self.http.session_cookie()).unwrap_or_default();
        let attributes = cookie_parts(&cookie);
        self.check(
            "the session cookie is HttpOnly, SameSite=Lax, Path=/, has Max-Age and no Domain",
            attributes.contains(&"HttpOnly")
                && attributes.contains(&"SameSite=Lax")
                && attributes.contains(&"Path=/")
                && attributes
                    .iter()
                    .any(|a| a.starts_with("Max-Age=") && *a != "Max-Age=0")
                && !attributes
                    .iter()
                    .any(|a| a.to_ascii_lowercase().starts_with("domain")),
            || cookie.clone(),
        )?;
        let token = jar
            .get(self.http.session_cookie())
            .unwrap_or_default()
            .to_owned();
        self.check(
            "the session token has at least 128 bits",
            token.len() >= 22,
            || token.clone(),
        )?;
        self.last_login = Some((callback, login_value));
        Ok(jar)
    }

    pub(super) fn signed_in_everywhere(&mut self, jar: &Jar, username: &str) -> anyhow::Result<()> {
        let page = self.http.get("/shop/orders", jar)?;
        let status = page.status();
        let html = page.text().unwrap_or_default();
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
        let home = self.http.get("/", jar)?.text().unwrap_or_default();
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
        url.starts_with(&format!("{}/auth/callback?code=", self.base()))
    }

    /// `GET /auth/login?return_to=…` in `jar` (which takes the login
    /// cookie): the provider's authorize URL.
    pub(super) fn start_login(&self, return_to: &str, jar: &mut Jar) -> anyhow::Result<String> {
        let mut url = Url::parse(&self.http.url("/auth/login"))?;
        url.query_pairs_mut().append_pair("return_to", return_to);
        let start = self.http.get(url.as_str(), jar)?;
        jar.absorb(&start);
        let authorize = location(&start);
        ensure!(
            start.status() == StatusCode::FOUND && authorize.contains("/authorize?"),
            "GET {url} answered {} → {authorize:?}, not the provider's authorize endpoint",
            start.status()
        );
        ensure!(
            jar.get(self.http.login_cookie()).is_some(),
            "GET {url} set no {} cookie",
            self.http.login_cookie()
        );
        Ok(authorize)
    }

    /// Submits the mock IdP's form for `authorize` as `username`.
    pub(super) fn submit_authorize(
        &self,
        authorize: &str,
        username: &str,
    ) -> anyhow::Result<reqwest::blocking::Response> {
        let params = query_of(authorize)?;
        let mut form: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("username", username));
        self.http.post_form(
            &format!("{MOCK_IDP_PREFIX}/authorize"),
            &form,
            &Jar::default(),
            None,
        )
    }

    /// Signs in as `username` at the mock IdP for `authorize`: the callback
    /// URL the provider sends the browser to (not followed).
    pub(super) fn authorize_as(&self, authorize: &str, username: &str) -> anyhow::Result<String> {
        let submitted = self.submit_authorize(authorize, username)?;
        let callback = location(&submitted);
        ensure!(
            submitted.status() == StatusCode::FOUND && self.is_callback(&callback),
            "signing in as {username} at the mock IdP answered {} → {callback:?}",
            submitted.status()
        );
        Ok(callback)
    }

    /// A whole sign-in as `username` in a fresh browser, ending on
    /// `return_to`: the callback's answer and the browser's jar.
    pub(super) fn sign_in_to(
        &self,
        username: &str,
        return_to: &str,
    ) -> anyhow::Result<(reqwest::blocking::Response, Jar)> {
        let mut jar = Jar::default();
        let authorize = self.start_login(return_to, &mut jar)?;
        let callback = self.authorize_as(&authorize, username)?;
        let finish = self.http.get(&callback, &jar)?;
        jar.absorb(&finish);
        ensure!(
            jar.get(self.http.session_cookie()).is_some(),
            "signing in as {username}: the callback answered {} → {:?} without a session cookie",
            finish.status(),
            location(&finish)
        );
        Ok((finish, jar))
    }

    /// A fresh browser signed in as `username`.
    pub(super) fn sign_in(&self, username: &str) -> anyhow::Result<Jar> {
        self.sign_in_to(username, "/")
            .map(|(_, jar)| jar)
            .with_context(|| format!("cannot sign {username} in"))
    }
}

/// The login cookie's `Set-Cookie`: HttpOnly, SameSite=Lax, Path=/, no
/// Domain, 0 < Max-Age ≤ 600.
fn is_short_lived_login_cookie(set_cookie: &str) -> bool {
    let attributes = cookie_parts(set_cookie);
    let max_age = attributes
        .iter()
        .find_map(|a| a.strip_prefix("Max-Age="))
        .and_then(|age| age.parse::<u64>().ok());
    attributes.first().is_some_and(|pair| pair.len() > 20)
        && attributes.contains(&"HttpOnly")
        && attributes.contains(&"SameSite=Lax")
        && attributes.contains(&"Path=/")
        && !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain"))
        && max_age.is_some_and(|age| (1..=LOGIN_COOKIE_MAX_AGE).contains(&age))
}
