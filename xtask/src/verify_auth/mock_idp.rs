//! The mock provider keeps the OAuth rules a real one keeps: PKCE, the
//! registered redirect URI, single-use codes, the client secret.

use anyhow::Context as _;
use contracts::zone::MOCK_IDP_PREFIX;
use reqwest::{StatusCode, Url};
use shared_auth::token::{pkce_challenge, random_token};

use super::http::Jar;
use super::replays::code_of;
use super::{CLIENT_ID, CLIENT_SECRET, Verifier};
use crate::client::sign_in::SignIn;

impl Verifier {
    /// Drives the mock IdP as a client would, with our own PKCE pair.
    pub(super) fn mock_idp_enforces_oauth_rules(&mut self) -> anyhow::Result<()> {
        let redirect = format!("{}/auth/callback", self.base());
        let verifier = random_token(32);

        let code = self.new_code(&redirect, &verifier)?;
        let (status, body) = self.redeem(&code, &redirect, &random_token(32), CLIENT_SECRET)?;
        self.check(
            "a wrong PKCE verifier is invalid_grant",
            body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;
        let code = self.new_code(&redirect, &verifier)?;
        let (status, body) =
            self.redeem(&code, "http://evil.example/cb", &verifier, CLIENT_SECRET)?;
        self.check(
            "a different redirect_uri is invalid_grant",
            body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;
        let code = self.new_code(&redirect, &verifier)?;
        let (status, body) = self.redeem(&code, &redirect, &verifier, CLIENT_SECRET)?;
        self.check(
            "the right verifier gets an id_token and an access token",
            status == StatusCode::OK
                && body["id_token"].is_string()
                && body["token_type"] == "bearer",
            || format!("{status} {body}"),
        )?;
        let access = body["access_token"]
            .as_str()
            .with_context(|| format!("no access_token in {body}"))?
            .to_owned();
        let userinfo: serde_json::Value = self
            .http
            .send(
                self.http
                    .request(
                        reqwest::Method::GET,
                        &format!("{MOCK_IDP_PREFIX}/userinfo"),
                        &Jar::default(),
                    )
                    .bearer_auth(&access),
            )?
            .json()?;
        self.check(
            "userinfo answers for the access token",
            userinfo["preferred_username"] == "carol",
            || userinfo.to_string(),
        )?;
        let (status, body) = self.redeem(&code, &redirect, &verifier, CLIENT_SECRET)?;
        self.check(
            "the same code cannot be redeemed twice",
            body["error"] == "invalid_grant",
            || format!("{status} {body}"),
        )?;
        let (status, _) = self.redeem("x", &redirect, &verifier, "wrong")?;
        self.check(
            "a wrong client secret is invalid_client (401)",
            status == StatusCode::UNAUTHORIZED,
            || status.to_string(),
        )?;
        self.unknown_client_is_refused()?;
        self.discovery_names_the_endpoints()
    }

    /// A code for `carol`, bound to `redirect` and `verifier`'s challenge.
    fn new_code(&self, redirect: &str, verifier: &str) -> anyhow::Result<String> {
        let mut url = Url::parse(&self.http.url(&format!("{MOCK_IDP_PREFIX}/authorize")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "openid profile")
            .append_pair("state", "s")
            .append_pair("nonce", "n")
            .append_pair("code_challenge", &pkce_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        let mut flow = SignIn::at_provider(self.http.site(), "carol", url.as_str())?;
        code_of(&self.authorize(&mut flow)?)
    }

    /// The token endpoint's answer for `code`.
    fn redeem(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        secret: &str,
    ) -> anyhow::Result<(StatusCode, serde_json::Value)> {
        let response = self.http.post_form(
            &format!("{MOCK_IDP_PREFIX}/token"),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
                ("client_id", CLIENT_ID),
                ("client_secret", secret),
            ],
            &Jar::default(),
            None,
        )?;
        let status = response.status();
        let body = response
            .json()
            .with_context(|| format!("the token endpoint's {status} answer is not JSON"))?;
        Ok((status, body))
    }

    fn unknown_client_is_refused(&mut self) -> anyhow::Result<()> {
        let bad_client = self.http.get(
            &format!(
                "{MOCK_IDP_PREFIX}/authorize?response_type=code&client_id=intruder&redirect_uri={}&scope=openid",
                "http%3A%2F%2Fevil.example%2Fcb"
            ),
            &Jar::default(),
        )?;
        self.check(
            "an unknown client is refused at authorize without a redirect",
            bad_client.status() == StatusCode::BAD_REQUEST
                && bad_client
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .is_none(),
            || bad_client.status().to_string(),
        )
    }

    fn discovery_names_the_endpoints(&mut self) -> anyhow::Result<()> {
        let discovery: serde_json::Value = self
            .http
            .get(
                &format!("{MOCK_IDP_PREFIX}/.well-known/openid-configuration"),
                &Jar::default(),
            )?
            .json()?;
        self.check(
            "discovery names the issuer, JWKS, token and end-session endpoints",
            discovery["issuer"] == format!("{}{MOCK_IDP_PREFIX}", self.base())
                && discovery["jwks_uri"].is_string()
                && discovery["token_endpoint"].is_string()
                && discovery["end_session_endpoint"].is_string(),
            || discovery.to_string(),
        )
    }
}
