//! `cargo xtask verify-auth`: the reference POC's cross-zone sign-in check
//! list, plus the attacks it should withstand, run over HTTP against a live
//! stack through the edge. `cargo xtask test` runs it after the stack is up.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{StatusCode, Url};
use shared_auth::Zone;
use shared_auth::token::{pkce_challenge, random_token};

use crate::project::step;

/// The mock IdP's default client (identity's defaults).
const CLIENT_ID: &str = "meridian";
const CLIENT_SECRET: &str = "meridian-dev-secret";
/// The session cookie's name (shared_auth::cookie::COOKIE_NAME, which
/// xtask cannot link without the whole server build).
pub const SESSION_COOKIE: &str = "auth.session-token";

pub fn run(base: &str) -> anyhow::Result<()> {
    step(&format!("Verifying sign-in across zones at {base}"));
    let mut v = Verifier::new(base)?;
    v.anonymous_everywhere()?;
    let token = v.sign_in_from_protected_page("alice")?;
    v.signed_in_everywhere(&token, "alice")?;
    v.replays_and_forgeries_fail(&token)?;
    v.tampered_cookie_is_anonymous(&token)?;
    v.logout_needs_a_same_origin_post(&token)?;
    v.mock_idp_enforces_oauth_rules()?;
    println!("    All {} checks passed.", v.passed);
    Ok(())
}

struct Verifier {
    base: String,
    http: Client,
    passed: usize,
    /// The last callback URL used (for the replay check).
    last_callback: Option<String>,
}

impl Verifier {
    fn new(base: &str) -> anyhow::Result<Self> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            passed: 0,
            last_callback: None,
        })
    }

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

    fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Response> {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.header(COOKIE, format!("{SESSION_COOKIE}={token}"));
        }
        request.send().with_context(|| format!("GET {path}"))
    }

    fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        token: Option<&str>,
        origin: Option<&str>,
    ) -> anyhow::Result<Response> {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some(token) = token {
            request = request.header(COOKIE, format!("{SESSION_COOKIE}={token}"));
        }
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send().with_context(|| format!("POST {path}"))
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn me(&self, path: &str, token: Option<&str>) -> anyhow::Result<serde_json::Value> {
        self.get(path, token)?
            .json()
            .with_context(|| format!("{path} is not JSON"))
    }

    fn anonymous_everywhere(&mut self) -> anyhow::Result<()> {
        for zone in Zone::ALL {
            let me = self.me(zone.me_path(), None)?;
            self.check(
                &format!("{zone} zone reports authenticated=false without a cookie"),
                me["authenticated"] == false && me["zone"] == zone.name() && me["user"].is_null(),
                || me.to_string(),
            )?;
        }
        Ok(())
    }

    /// The POC's journey: a protected page → login → mock IdP → callback →
    /// back on the page with a cookie. Returns the session token.
    fn sign_in_from_protected_page(&mut self, username: &str) -> anyhow::Result<String> {
        let first = self.get("/shop/orders", None)?;
        let login = location(&first);
        self.check(
            "an anonymous /shop/orders redirects (302) to /auth/login?return_to=/shop/orders",
            first.status() == StatusCode::FOUND && login == "/auth/login?return_to=/shop/orders",
            || format!("{} → {login}", first.status()),
        )?;
        let start = self.get(&login, None)?;
        let authorize = location(&start);
        self.check(
            "/auth/login redirects to the mock IdP's authorize endpoint with PKCE S256",
            start.status() == StatusCode::FOUND
                && authorize.starts_with(&format!("{}/mock-idp/authorize?", self.base))
                && authorize.contains("code_challenge_method=S256")
                && authorize.contains("nonce=")
                && authorize.contains("state="),
            || format!("{} → {authorize}", start.status()),
        )?;
        let form = self.get(&authorize, None)?;
        self.check(
            "the mock IdP shows its sign-in form",
            form.status() == StatusCode::OK,
            || form.status().to_string(),
        )?;
        let callback = self.authorize_as(&authorize, username)?;
        let finish = self.get(&callback, None)?;
        let back = location(&finish);
        let cookie = finish
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{SESSION_COOKIE}=")))
            .unwrap_or_default()
            .to_owned();
        self.check(
            "the callback redirects back to /shop/orders",
            finish.status() == StatusCode::FOUND && back == "/shop/orders",
            || format!("{} → {back}", finish.status()),
        )?;
        let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
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
        let token = attributes
            .first()
            .and_then(|pair| pair.strip_prefix(&format!("{SESSION_COOKIE}=")))
            .unwrap_or_default()
            .to_owned();
        self.check(
            "the session token has at least 128 bits",
            token.len() >= 22,
            || token.clone(),
        )?;
        self.last_callback = Some(callback);
        Ok(token)
    }

    /// Submits the mock IdP form for `authorize` and returns the callback
    /// URL it redirects to (not followed).
    fn authorize_as(&mut self, authorize: &str, username: &str) -> anyhow::Result<String> {
        let params = query_of(authorize)?;
        let mut form: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        form.push(("username", username));
        let submitted = self.post_form("/mock-idp/authorize", &form, None, None)?;
        let callback = location(&submitted);
        self.check(
            &format!("signing in as {username} at the mock IdP returns a code to /auth/callback"),
            submitted.status() == StatusCode::FOUND
                && callback.starts_with(&format!("{}/auth/callback?code=", self.base)),
            || format!("{} → {callback}", submitted.status()),
        )?;
        Ok(callback)
    }

    fn signed_in_everywhere(&mut self, token: &str, username: &str) -> anyhow::Result<()> {
        let page = self.get("/shop/orders", Some(token))?;
        let status = page.status();
        let html = page.text().unwrap_or_default();
        self.check(
            "/shop/orders renders for the signed-in user",
            status == StatusCode::OK && html.contains(&format!("data-user=\"{username}\"")),
            || status.to_string(),
        )?;
        for zone in Zone::ALL {
            let me = self.me(zone.me_path(), Some(token))?;
            self.check(
                &format!("{zone} zone sees the same session (user.username = {username})"),
                me["authenticated"] == true
                    && me["zone"] == zone.name()
                    && me["user"]["username"] == username,
                || me.to_string(),
            )?;
        }
        let home = self.get("/", Some(token))?.text().unwrap_or_default();
        self.check(
            "the public home page greets the user by name",
            home.contains(&format!("Welcome back, {username}")),
            || "no greeting".into(),
        )?;
        Ok(())
    }

    fn replays_and_forgeries_fail(&mut self, token: &str) -> anyhow::Result<()> {
        let callback = self.last_callback.clone().context("no callback recorded")?;
        let replay = self.get(&callback, None)?;
        let no_cookie = !replay.headers().get_all(SET_COOKIE).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.starts_with("auth.session-token=") && !v.contains("Max-Age=0"))
        });
        self.check(
            "replaying the callback (used state and code) fails without a session",
            location(&replay).starts_with("/auth/error?reason=") && no_cookie,
            || location(&replay),
        )?;
        let code = query_of(&callback)?
            .get("code")
            .cloned()
            .unwrap_or_default();
        let redeem = self.post_form(
            "/mock-idp/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &format!("{}/auth/callback", self.base)),
                ("code_verifier", &random_token(32)),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
            None,
            None,
        )?;
        let status = redeem.status();
        let body: serde_json::Value = redeem.json().unwrap_or_default();
        self.check(
            "redeeming the used code again at the token endpoint is invalid_grant",
            status == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;

        // A real code with a forged state: refused, nothing consumed for the attacker.
        let start = self.get("/auth/login?return_to=/", None)?;
        let fresh = self.authorize_as(&location(&start), "mallory")?;
        let mut url = Url::parse(&fresh)?;
        let code = query_of(&fresh)?.get("code").cloned().unwrap_or_default();
        url.query_pairs_mut()
            .clear()
            .append_pair("code", &code)
            .append_pair("state", "forged-state");
        let forged = self.get(url.as_str(), Some(token))?;
        self.check(
            "a callback with a forged state is refused",
            location(&forged) == "/auth/error?reason=state",
            || location(&forged),
        )?;
        let me = self.me("/auth/me", Some(token))?;
        self.check(
            "…and the existing session is untouched",
            me["user"]["username"] == "alice",
            || me.to_string(),
        )?;
        Ok(())
    }

    fn tampered_cookie_is_anonymous(&mut self, token: &str) -> anyhow::Result<()> {
        let mut tampered: Vec<char> = token.chars().collect();
        if let Some(last) = tampered.last_mut() {
            *last = if *last == 'A' { 'B' } else { 'A' };
        }
        let tampered: String = tampered.into_iter().collect();
        let response = self.get("/shop/api/me", Some(&tampered))?;
        let clears = clears_session_cookie(&response);
        let me: serde_json::Value = response.json()?;
        self.check(
            "a tampered cookie is anonymous (and is cleared)",
            me["authenticated"] == false && clears,
            || me.to_string(),
        )
    }

    fn logout_needs_a_same_origin_post(&mut self, token: &str) -> anyhow::Result<()> {
        let confirm = self.get("/auth/logout", Some(token))?;
        let status = confirm.status();
        let page = confirm.text().unwrap_or_default();
        self.check(
            "GET /auth/logout only shows a confirm form",
            status == StatusCode::OK && page.contains("Sign out of Meridian?"),
            || status.to_string(),
        )?;
        let me = self.me("/api/me", Some(token))?;
        self.check(
            "…and the session survives it",
            me["authenticated"] == true,
            || me.to_string(),
        )?;

        let cross = self.post_form(
            "/auth/logout",
            &[],
            Some(token),
            Some("http://evil.example"),
        )?;
        self.check(
            "a cross-site POST /auth/logout is refused (403)",
            cross.status() == StatusCode::FORBIDDEN,
            || cross.status().to_string(),
        )?;
        let me = self.me("/api/me", Some(token))?;
        self.check(
            "…and the session survives it",
            me["authenticated"] == true,
            || me.to_string(),
        )?;

        let origin = self.base.clone();
        let out = self.post_form("/auth/logout", &[], Some(token), Some(&origin))?;
        let cleared = clears_session_cookie(&out);
        self.check(
            "a same-origin POST /auth/logout signs out and clears the cookie",
            out.status() == StatusCode::FOUND && cleared,
            || out.status().to_string(),
        )?;
        for zone in Zone::ALL {
            let me = self.me(zone.me_path(), Some(token))?;
            self.check(
                &format!("{zone} zone no longer sees the session"),
                me["authenticated"] == false,
                || me.to_string(),
            )?;
        }
        Ok(())
    }

    /// Drives the mock IdP as a client would, with our own PKCE pair.
    fn mock_idp_enforces_oauth_rules(&mut self) -> anyhow::Result<()> {
        let redirect = format!("{}/auth/callback", self.base);
        let verifier = random_token(32);
        let challenge = pkce_challenge(&verifier);
        let new_code = |this: &mut Self| -> anyhow::Result<String> {
            let mut url = Url::parse(&this.url("/mock-idp/authorize"))?;
            url.query_pairs_mut()
                .append_pair("response_type", "code")
                .append_pair("client_id", CLIENT_ID)
                .append_pair("redirect_uri", &redirect)
                .append_pair("scope", "openid profile")
                .append_pair("state", "s")
                .append_pair("nonce", "n")
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            let callback = this.authorize_as(url.as_str(), "carol")?;
            Ok(query_of(&callback)?
                .get("code")
                .cloned()
                .unwrap_or_default())
        };
        let token = |this: &Self,
                     code: &str,
                     redirect_uri: &str,
                     verifier: &str|
         -> anyhow::Result<(StatusCode, serde_json::Value)> {
            let response = this.post_form(
                "/mock-idp/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier),
                    ("client_id", CLIENT_ID),
                    ("client_secret", CLIENT_SECRET),
                ],
                None,
                None,
            )?;
            Ok((response.status(), response.json().unwrap_or_default()))
        };

        let code = new_code(self)?;
        let (status, body) = token(self, &code, &redirect, &random_token(32))?;
        self.check(
            "a wrong PKCE verifier is invalid_grant",
            body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;
        let code = new_code(self)?;
        let (status, body) = token(self, &code, "http://evil.example/cb", &verifier)?;
        self.check(
            "a different redirect_uri is invalid_grant",
            body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;
        let code = new_code(self)?;
        let (status, body) = token(self, &code, &redirect, &verifier)?;
        self.check(
            "the right verifier gets an id_token and an access token",
            status == StatusCode::OK
                && body["id_token"].is_string()
                && body["token_type"] == "bearer",
            || format!("{status} {body}"),
        )?;
        let access = body["access_token"].as_str().unwrap_or_default().to_owned();
        let userinfo: serde_json::Value = self
            .http
            .get(self.url("/mock-idp/userinfo"))
            .bearer_auth(&access)
            .send()?
            .json()?;
        self.check(
            "userinfo answers for the access token",
            userinfo["preferred_username"] == "carol",
            || userinfo.to_string(),
        )?;
        let (status, body) = token(self, &code, &redirect, &verifier)?;
        self.check(
            "the same code cannot be redeemed twice",
            body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;
        let response = self.post_form(
            "/mock-idp/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
            ],
            None,
            None,
        )?;
        self.check(
            "a wrong client secret is invalid_client (401)",
            response.status() == StatusCode::UNAUTHORIZED,
            || response.status().to_string(),
        )?;
        let bad_client = self.get(
            &format!("/mock-idp/authorize?response_type=code&client_id=intruder&redirect_uri={}&scope=openid", "http%3A%2F%2Fevil.example%2Fcb"),
            None,
        )?;
        self.check(
            "an unknown client is refused at authorize without a redirect",
            bad_client.status() == StatusCode::BAD_REQUEST
                && bad_client.headers().get(LOCATION).is_none(),
            || bad_client.status().to_string(),
        )?;
        let discovery: serde_json::Value = self
            .get("/mock-idp/.well-known/openid-configuration", None)?
            .json()?;
        self.check(
            "discovery names the issuer, JWKS and token endpoints",
            discovery["issuer"] == format!("{}/mock-idp", self.base)
                && discovery["jwks_uri"].is_string()
                && discovery["token_endpoint"].is_string(),
            || discovery.to_string(),
        )
    }
}

/// True when the response clears the session cookie.
fn clears_session_cookie(response: &Response) -> bool {
    response.headers().get_all(SET_COOKIE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.starts_with("auth.session-token=;") && v.contains("Max-Age=0"))
    })
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn query_of(url: &str) -> anyhow::Result<HashMap<String, String>> {
    let url = if url.starts_with('/') {
        format!("http://x{url}")
    } else {
        url.to_owned()
    };
    Ok(Url::parse(&url)
        .with_context(|| format!("not a URL: {url}"))?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}
