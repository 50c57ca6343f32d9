//! Replayed callbacks, re-redeemed codes and forged states.

use anyhow::Context as _;
use contracts::Zone;
use contracts::zone::MOCK_IDP_PREFIX;
use reqwest::{StatusCode, Url};
use shared_auth::token::random_token;

use super::http::{Jar, cookies, location, query_of};
use super::{CLIENT_ID, CLIENT_SECRET, Verifier};

impl Verifier {
    pub(super) fn replays_and_forgeries_fail(&mut self, alice: &Jar) -> anyhow::Result<()> {
        self.replayed_callback_fails()?;
        self.used_code_is_invalid_grant()?;
        self.forged_state_is_refused(alice)
    }

    /// The main journey's callback again, with the very login cookie that
    /// went with it: the state is used up.
    fn replayed_callback_fails(&mut self) -> anyhow::Result<()> {
        let (callback, login) = self.last_login.clone().context("no callback recorded")?;
        let jar = Jar::with(self.http.login_cookie(), &login);
        let replay = self.http.get(&callback, &jar)?;
        let session_set = cookies::sets(replay.headers(), self.http.session_cookie());
        self.check(
            "replaying the callback (used state and code, same login cookie) fails without a session",
            location(&replay).starts_with("/auth/error?reason=") && !session_set,
            || format!("{} → {}", replay.status(), location(&replay)),
        )
    }

    fn used_code_is_invalid_grant(&mut self) -> anyhow::Result<()> {
        let (callback, _) = self.last_login.clone().context("no callback recorded")?;
        let code = code_of(&callback)?;
        let redirect_uri = format!("{}/auth/callback", self.base());
        let verifier = random_token(32);
        let redeem = self.http.post_form(
            &format!("{MOCK_IDP_PREFIX}/token"),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
            &Jar::default(),
            None,
        )?;
        let status = redeem.status();
        let body: serde_json::Value = redeem
            .json()
            .with_context(|| format!("the token endpoint's {status} answer is not JSON"))?;
        self.check(
            "redeeming the used code again at the token endpoint is invalid_grant",
            status == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )
    }

    /// A real code with a forged state, sent by a signed-in browser that
    /// even holds a login cookie of its own: refused, nothing changes.
    fn forged_state_is_refused(&mut self, alice: &Jar) -> anyhow::Result<()> {
        let mut browser = alice.clone();
        let mut flow = self.start_login("mallory", "/", &mut browser)?;
        let fresh = self.authorize(&mut flow)?;
        let code = code_of(&fresh)?;
        let mut url = Url::parse(&fresh)?;
        url.query_pairs_mut()
            .clear()
            .append_pair("code", &code)
            .append_pair("state", "forged-state");
        let forged = self.http.get(url.as_str(), &browser)?;
        self.check(
            "a callback with a forged state is refused",
            location(&forged) == "/auth/error?reason=state",
            || format!("{} → {}", forged.status(), location(&forged)),
        )?;
        self.is_signed_in_as(
            "…and the existing session is untouched",
            Zone::Identity,
            alice,
            "alice",
        )
    }
}

/// The `code` parameter of a callback URL.
pub(super) fn code_of(callback: &str) -> anyhow::Result<String> {
    query_of(callback)?
        .remove("code")
        .with_context(|| format!("no code in the callback URL {callback}"))
}
