//! Checking a session token against the keys identity publishes.

use std::collections::HashMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{Claims, MAX_TOKEN_BYTES, MAX_TTL_SECS};

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

/// Why a token was not accepted. Every case means "anonymous" to the
/// caller; only [`Rejected::Expired`] is worth a refresh and
/// [`Rejected::UnknownKey`] a new look at the JWKS.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("not a token")]
    Malformed,
    #[error("signed with a key this verifier does not know")]
    UnknownKey(String),
    #[error("expired")]
    Expired,
    #[error("invalid (signature, algorithm, issuer, audience or times)")]
    Invalid,
}

/// The public keys of one JWKS and what a token must say to pass.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for the Ed25519 keys of `jwks` (any other key is left
    /// out) that accepts only `EdDSA` tokens from `issuer` for `audience`.
    pub fn new(jwks: &JwkSet, issuer: &str, audience: &str) -> Self {
        let keys = jwks
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                match &jwk.algorithm {
                    AlgorithmParameters::OctetKeyPair(okp)
                        if okp.curve == EllipticCurve::Ed25519 =>
                    {
                        DecodingKey::from_ed_components(&okp.x)
                            .ok()
                            .map(|key| (kid, key))
                    }
                    _ => None,
                }
            })
            .collect();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self { keys, validation }
    }

    /// The ids of the keys it knows.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Whether a key with this id is known.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The claims of `token` if it is well-formed, `EdDSA`, signed by a
    /// known key, from the issuer, for the audience, not expired, not
    /// issued in the future (both within [`LEEWAY_SECS`]) and living no
    /// longer than identity ever signs for ([`MAX_TTL_SECS`]: a token
    /// made with a leaked key cannot outlast the key's removal by long).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, Rejected> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejected::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejected::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(Rejected::Invalid);
        }
        let kid = header.kid.ok_or(Rejected::Invalid)?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| Rejected::UnknownKey(kid.clone()))?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => Rejected::Expired,
                _ => Rejected::Invalid,
            })?
            .claims;
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let longest = i64::try_from(MAX_TTL_SECS).unwrap_or(i64::MAX);
        if claims.iat > now + leeway
            || claims.exp <= claims.iat
            || claims.exp - claims.iat > longest
        {
            return Err(Rejected::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;
    use crate::session_token::SigningKey;

    const ISS: &str = "http://localhost:8080/auth";
    const AUD: &str = "http://localhost:8080";

    fn now() -> i64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        i64::try_from(since.as_secs()).unwrap()
    }

    fn claims(now: i64) -> Claims {
        Claims {
            iss: ISS.into(),
            aud: AUD.into(),
            sub: "u1".into(),
            sid: "s1".into(),
            name: "Alice".into(),
            username: "alice".into(),
            iat: now,
            exp: now + 300,
        }
    }

    fn setup() -> (SigningKey, Verifier) {
        let key = SigningKey::generate().unwrap();
        let jwks = JwkSet {
            keys: vec![key.jwk()],
        };
        (key, Verifier::new(&jwks, ISS, AUD))
    }

    #[test]
    fn a_good_token_passes() {
        let (key, verifier) = setup();
        let now = now();
        let token = key.sign(&claims(now)).unwrap();
        assert_eq!(verifier.verify(&token, now), Ok(claims(now)));
    }

    #[test]
    fn tampered_and_truncated_tokens_are_invalid() {
        let (key, verifier) = setup();
        let now = now();
        let token = key.sign(&claims(now)).unwrap();
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let mut other = claims(now);
        other.sub = "admin".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let forged = format!("{head}.{forged_body}.{signature}");
        assert_eq!(verifier.verify(&forged, now), Err(Rejected::Invalid));
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(verifier.verify(&flipped, now).is_err());
        for broken in [
            &token[..token.len() - 10],
            &token[..token.rfind('.').unwrap()],
            "",
            "a.b.c",
            "....",
        ] {
            assert!(verifier.verify(broken, now).is_err(), "{broken:?}");
        }
        assert_eq!(
            verifier.verify(&"a".repeat(MAX_TOKEN_BYTES + 1), now),
            Err(Rejected::Malformed)
        );
    }

    #[test]
    fn other_algorithms_are_refused() {
        let (key, verifier) = setup();
        let now = now();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(now)).unwrap());
        // alg: none, with and without a signature.
        let none = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid()));
        assert!(verifier.verify(&format!("{none}.{body}."), now).is_err());
        // HS256 keyed with the public key (the classic confusion attack).
        let public = key.jwk();
        let AlgorithmParameters::OctetKeyPair(okp) = &public.algorithm else {
            unreachable!("an OKP key")
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid().to_owned());
        for secret in [
            okp.x.as_bytes().to_vec(),
            URL_SAFE_NO_PAD.decode(&okp.x).unwrap(),
        ] {
            let hs =
                jsonwebtoken::encode(&header, &claims(now), &EncodingKey::from_secret(&secret))
                    .unwrap();
            assert_eq!(verifier.verify(&hs, now), Err(Rejected::Invalid));
        }
    }

    #[test]
    fn wrong_issuer_or_audience_is_invalid() {
        let (key, verifier) = setup();
        let now = now();
        let mut wrong_iss = claims(now);
        wrong_iss.iss = "https://evil.example/auth".into();
        let mut wrong_aud = claims(now);
        wrong_aud.aud = "https://evil.example".into();
        for bad in [wrong_iss, wrong_aud] {
            let token = key.sign(&bad).unwrap();
            assert_eq!(
                verifier.verify(&token, now),
                Err(Rejected::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn expired_and_future_dated_tokens_are_refused() {
        let (key, verifier) = setup();
        let now = now();
        let mut expired = claims(now - 1000);
        expired.exp = now - 60;
        assert_eq!(
            verifier.verify(&key.sign(&expired).unwrap(), now),
            Err(Rejected::Expired)
        );
        let mut future = claims(now + 3600);
        future.exp = now + 7200;
        assert_eq!(
            verifier.verify(&key.sign(&future).unwrap(), now),
            Err(Rejected::Invalid)
        );
        // Longer than identity ever signs for.
        let mut eternal = claims(now);
        eternal.exp = now + 10 * 365 * 86_400;
        assert_eq!(
            verifier.verify(&key.sign(&eternal).unwrap(), now),
            Err(Rejected::Invalid)
        );
        // Within the leeway both ways is fine.
        let mut skewed = claims(now + 2);
        skewed.exp = now + 300;
        assert!(verifier.verify(&key.sign(&skewed).unwrap(), now).is_ok());
    }

    #[test]
    fn an_unknown_kid_is_named_for_a_refetch() {
        let (_, verifier) = setup();
        let stranger = SigningKey::generate().unwrap();
        let now = now();
        let token = stranger.sign(&claims(now)).unwrap();
        assert_eq!(
            verifier.verify(&token, now),
            Err(Rejected::UnknownKey(stranger.kid().to_owned()))
        );
        assert!(!verifier.knows(stranger.kid()));
    }

    #[test]
    fn old_keys_verify_until_dropped_from_the_jwks() {
        let old = SigningKey::generate().unwrap();
        let new = SigningKey::generate().unwrap();
        let now = now();
        let both = Verifier::new(
            &JwkSet {
                keys: vec![new.jwk(), old.jwk()],
            },
            ISS,
            AUD,
        );
        assert!(both.verify(&old.sign(&claims(now)).unwrap(), now).is_ok());
        assert!(both.verify(&new.sign(&claims(now)).unwrap(), now).is_ok());
        let only_new = Verifier::new(
            &JwkSet {
                keys: vec![new.jwk()],
            },
            ISS,
            AUD,
        );
        assert!(matches!(
            only_new.verify(&old.sign(&claims(now)).unwrap(), now),
            Err(Rejected::UnknownKey(_))
        ));
    }
}
