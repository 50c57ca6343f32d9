//! The session cookie under attack (tampered, tossed in twice) and the
//! caching of personalised responses.

use contracts::Zone;
use reqwest::Method;
use reqwest::header::{CACHE_CONTROL, COOKIE};
use shared_auth::token::random_token;

use super::Verifier;
use anyhow::Context as _;

use super::http::{Jar, cookies, header_text};

/// Signed-in responses that must never be stored by a shared cache or the
/// back/forward cache: pages of every zone and `/…/me` JSON.
const PERSONALISED: &[&str] = &["/shop", "/auth", "/", "/api/me", "/shop/api/me", "/auth/me"];

impl Verifier {
    pub(super) fn tampered_cookie_is_anonymous(&mut self, alice: &Jar) -> anyhow::Result<()> {
        let token = self.session_token(alice)?;
        let mut tampered: Vec<char> = token.chars().collect();
        if let Some(last) = tampered.last_mut() {
            *last = if *last == 'A' { 'B' } else { 'A' };
        }
        let tampered: String = tampered.into_iter().collect();
        let jar = Jar::with(self.http.session_cookie(), &tampered);
        let response = self.http.get("/shop/api/me", &jar)?;
        let clears = cookies::clears(response.headers(), self.http.session_cookie());
        let me: serde_json::Value = response.json()?;
        self.check(
            "a tampered cookie is anonymous (and is cleared)",
            me["authenticated"] == false && clears,
            || me.to_string(),
        )
    }

    /// Cookie tossing: a second session cookie (the same token twice, or
    /// another value beside the real one, in one or two `Cookie` headers)
    /// makes the request anonymous in every zone, and no response clears
    /// the real cookie; the real session still works afterwards.
    pub(super) fn duplicate_cookies_are_anonymous(&mut self, alice: &Jar) -> anyhow::Result<()> {
        let name = self.http.session_cookie().to_owned();
        let token = self.session_token(alice)?;
        let tossed = random_token(32);
        let variants: [(&str, Vec<String>); 3] = [
            (
                "the same session token twice",
                vec![format!("{name}={token}; {name}={token}")],
            ),
            (
                "a tossed-in session cookie beside the real one",
                vec![format!("{name}={tossed}; {name}={token}")],
            ),
            (
                "the session cookie in two Cookie headers",
                vec![format!("{name}={token}"), format!("{name}={token}")],
            ),
        ];
        for (what, headers) in variants {
            self.duplicate_is_anonymous_everywhere(what, &headers)?;
        }
        for zone in Zone::ALL {
            self.is_signed_in_as(
                &format!("…and sent once, the real session still works in the {zone} zone"),
                zone,
                alice,
                "alice",
            )?;
        }
        Ok(())
    }

    fn duplicate_is_anonymous_everywhere(
        &mut self,
        what: &str,
        cookie_headers: &[String],
    ) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for zone in Zone::ALL {
            let mut request = self
                .http
                .request(Method::GET, zone.me_path(), &Jar::default());
            for header in cookie_headers {
                request = request.header(COOKIE, header);
            }
            let response = self.http.send(request)?;
            let touched = cookies::set_cookie(response.headers(), self.http.session_cookie())
                .map(|c| c.to_string());
            let me: serde_json::Value = response.json()?;
            if me["authenticated"] != false {
                problems.push(format!("{zone}: {me}"));
            }
            if let Some(touched) = touched {
                problems.push(format!("{zone}: Set-Cookie: {touched}"));
            }
        }
        self.check(
            &format!("cookie tossing: {what} is anonymous in every zone and nothing is cleared"),
            problems.is_empty(),
            || problems.join("; "),
        )
    }

    pub(super) fn personalised_responses_are_not_stored(
        &mut self,
        alice: &Jar,
    ) -> anyhow::Result<()> {
        for path in PERSONALISED {
            let response = self.http.get(path, alice)?;
            let status = response.status();
            let cache = header_text(&response, CACHE_CONTROL).to_ascii_lowercase();
            let directives: Vec<&str> = cache.split(',').map(str::trim).collect();
            self.check(
                &format!("signed-in {path} carries Cache-Control: private, no-store"),
                status.is_success()
                    && directives.contains(&"private")
                    && directives.contains(&"no-store"),
                || format!("{status}, Cache-Control: {cache:?}"),
            )?;
        }
        Ok(())
    }

    /// The session token in `jar`, which must be signed in.
    fn session_token(&self, jar: &Jar) -> anyhow::Result<String> {
        jar.get(self.http.session_cookie())
            .map(str::to_owned)
            .context("the signed-in browser holds no session cookie")
    }
}
