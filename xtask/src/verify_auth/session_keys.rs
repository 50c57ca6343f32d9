//! Identity's session-token keys through the edge: a JWKS of Ed25519
//! public keys, never a private part, and one that verifies a token
//! signed by none of them as from an unknown key.

use jsonwebtoken::jwk::JwkSet;
use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;
use shared_auth::session_token::{Claims, Rejected, SigningKey, Verifier as TokenVerifier};

use super::Verifier;
use super::http::{Jar, header_text};

impl Verifier {
    pub(super) fn session_keys_are_public_halves_only(&mut self) -> anyhow::Result<()> {
        let path = contracts::zone::SESSION_JWKS_PATH;
        let response = self.http.get(path, &Jar::default())?;
        let status = response.status();
        let cache = header_text(&response, CACHE_CONTROL);
        let body: serde_json::Value = response.json()?;
        let keys = body["keys"].as_array().cloned().unwrap_or_default();
        self.check(
            &format!("GET {path} publishes Ed25519 public keys (OKP, EdDSA, a kid), cacheable"),
            status == StatusCode::OK
                && cache.starts_with("public")
                && !keys.is_empty()
                && keys.iter().all(|key| {
                    key["kty"] == "OKP"
                        && key["crv"] == "Ed25519"
                        && key["alg"] == "EdDSA"
                        && key["kid"].is_string()
                }),
            || format!("{status}, Cache-Control {cache:?}: {body}"),
        )?;
        self.check(
            &format!("…and no private part (no \"d\") in {path}"),
            keys.iter().all(|key| key.get("d").is_none()),
            || body.to_string(),
        )?;
        let set: JwkSet = serde_json::from_value(body.clone())?;
        let issuer = format!("{}{}", self.base(), contracts::Zone::Identity.home());
        let verifier = TokenVerifier::new(&set, &issuer, self.base());
        let stranger = SigningKey::generate()?;
        let now = shared_auth::store::now();
        let forged = stranger.sign(&Claims {
            iss: issuer.clone(),
            aud: self.base().to_owned(),
            sub: "someone".into(),
            sid: "forged".into(),
            name: "Mallory".into(),
            username: "mallory".into(),
            iat: now,
            exp: now + 300,
        })?;
        self.check(
            "a token signed by a key identity never published is refused",
            matches!(verifier.verify(&forged, now), Err(Rejected::UnknownKey(_))),
            || format!("{:?}", verifier.verify(&forged, now)),
        )
    }
}
