//! Sign-out: only a same-origin POST counts; it ends the session in every
//! zone and, through the provider's end-session endpoint (RP-initiated
//! logout), at the provider too, ending on `/auth/signed-out`.

use std::time::Instant;

use anyhow::Context as _;
use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;
use reqwest::{StatusCode, Url};

use super::http::{Jar, cookies, location, path_of, query_of};
use super::{CLIENT_ID, EVIL_ORIGIN, Verifier};

const SIGNED_OUT_PATH: &str = "/auth/signed-out";

impl Verifier {
    pub(super) fn logout_needs_a_same_origin_post(&mut self, alice: &Jar) -> anyhow::Result<()> {
        let confirm = self.http.get("/auth/logout", alice)?;
        let status = confirm.status();
        let page = confirm
            .text()
            .with_context(|| format!("reading GET /auth/logout ({status})"))?;
        self.check(
            "GET /auth/logout only shows a confirm form",
            status == StatusCode::OK && page.contains("Sign out of Meridian?"),
            || status.to_string(),
        )?;
        self.is_signed_in_as("…and the session survives it", Zone::Public, alice, "alice")?;
        let cross = self
            .http
            .post_form("/auth/logout", &[], alice, Some(EVIL_ORIGIN))?;
        self.check(
            "a cross-site POST /auth/logout is refused (403)",
            cross.status() == StatusCode::FORBIDDEN,
            || cross.status().to_string(),
        )?;
        self.is_signed_in_as("…and the session survives it", Zone::Public, alice, "alice")
    }

    /// POST /auth/logout → the provider's end-session endpoint → back on
    /// /auth/signed-out; the session is gone everywhere; the provider
    /// refuses a post-logout URI that is not registered.
    pub(super) fn sign_out_ends_at_the_provider(&mut self, alice: &Jar) -> anyhow::Result<()> {
        let origin = self.base().to_owned();
        let out = self
            .http
            .post_form("/auth/logout", &[], alice, Some(&origin))?;
        let cleared = cookies::clears(out.headers(), self.http.session_cookie());
        let to_provider = location(&out);
        self.check(
            "a same-origin POST /auth/logout signs out and clears the cookie",
            out.status() == StatusCode::FOUND && cleared,
            || format!("{} → {to_provider:?}", out.status()),
        )?;
        let started = Instant::now();
        // The browser, with the cookies as the answer left them.
        let mut browser = alice.clone();
        browser.absorb(out.headers());
        for zone in Zone::ALL {
            let me = self.http.me(zone.me_path(), &browser)?;
            self.check(
                &format!("{zone} zone no longer sees the session in that browser"),
                me["authenticated"] == false,
                || me.to_string(),
            )?;
        }
        // A copy of the cookies taken before (in token mode, a session
        // token still within its lifetime).
        self.refused_everywhere_within_the_bound(
            "…and a copy of its old cookies is refused in every zone",
            alice,
            started,
        )?;
        let end_session = self.http.url(&to_provider);
        let params = query_of(&end_session)?;
        let signed_out = format!("{origin}{SIGNED_OUT_PATH}");
        self.check(
            "…and redirects to the provider's end_session_endpoint with id_token_hint, client_id and post_logout_redirect_uri",
            end_session.starts_with(&format!("{origin}{MOCK_IDP_PREFIX}/logout?"))
                && params.get("id_token_hint").is_some_and(|t| !t.is_empty())
                && params.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && params.get("post_logout_redirect_uri") == Some(&signed_out),
            || to_provider.clone(),
        )?;
        let back = self.http.get(&end_session, &Jar::default())?;
        let back_to = self.http.url(&location(&back));
        let state_kept = params
            .get("state")
            .is_none_or(|state| query_of(&back_to).is_ok_and(|q| q.get("state") == Some(state)));
        self.check(
            "the provider signs out and sends the browser back to /auth/signed-out",
            back.status() == StatusCode::FOUND
                && back_to.starts_with(&signed_out)
                && path_of(&back_to).is_ok_and(|p| p == SIGNED_OUT_PATH)
                && state_kept,
            || format!("{} → {back_to:?}", back.status()),
        )?;
        let page = self.http.get(&back_to, &Jar::default())?;
        let status = page.status();
        let html = page
            .text()
            .with_context(|| format!("reading GET {back_to} ({status})"))?;
        self.check(
            "/auth/signed-out is a page in the shared shell with a way to sign in again",
            status == StatusCode::OK
                && html.contains("data-zone=\"identity\"")
                && html.contains("href=\"/auth/login"),
            || status.to_string(),
        )?;
        let hint = params
            .get("id_token_hint")
            .context("no id_token_hint in the end-session URL")?;
        self.foreign_post_logout_uri_is_refused(hint)
    }

    /// The mock provider sends no one to an unregistered address.
    fn foreign_post_logout_uri_is_refused(&mut self, hint: &str) -> anyhow::Result<()> {
        let mut url = Url::parse(&self.http.url(&format!("{MOCK_IDP_PREFIX}/logout")))?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", hint)
            .append_pair("client_id", CLIENT_ID)
            .append_pair("post_logout_redirect_uri", &format!("{EVIL_ORIGIN}/"));
        let refused = self.http.get(url.as_str(), &Jar::default())?;
        let status = refused.status();
        let to = location(&refused);
        self.check(
            "the provider refuses a foreign post_logout_redirect_uri (400, no redirect)",
            status == StatusCode::BAD_REQUEST && to.is_empty(),
            || format!("{status} → {to:?}"),
        )
    }
}
