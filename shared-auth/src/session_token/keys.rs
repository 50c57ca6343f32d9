//! A session-token signing key: Ed25519, kept as its 32-byte seed in
//! PKCS#8 form (what the store holds), named by a key id derived from its
//! public half so that two keys never share one.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest as _, Sha256};

use super::Claims;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410); the 32-byte
/// seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why a stored key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not base64: {0}")]
    Encoding(#[from] base64::DecodeError),
    #[error("the signing key is not an Ed25519 PKCS#8 key")]
    NotEd25519,
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("cannot sign a session token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// One Ed25519 signing key and its id.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: [u8; 32],
    encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    /// The id only: the private half never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|err| KeyError::Random(err.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    /// The key a [`Self::to_stored`] string holds.
    pub fn from_stored(stored: &str) -> Result<Self, KeyError> {
        let der = STANDARD.decode(stored.trim())?;
        let seed = der
            .strip_prefix(&PKCS8_ED25519_PREFIX)
            .and_then(|seed| <[u8; 32]>::try_from(seed).ok())
            .ok_or(KeyError::NotEd25519)?;
        Ok(Self::from_seed(seed))
    }

    fn from_seed(seed: [u8; 32]) -> Self {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        let mut pkcs8 = PKCS8_ED25519_PREFIX.to_vec();
        pkcs8.extend_from_slice(&seed);
        let digest = Sha256::digest(public);
        let kid = URL_SAFE_NO_PAD.encode(&digest[..12]);
        let encoding = EncodingKey::from_ed_der(&pkcs8);
        Self {
            kid,
            pkcs8,
            public,
            encoding,
        }
    }

    /// The private key as the store keeps it (base64 PKCS#8).
    pub fn to_stored(&self) -> String {
        STANDARD.encode(&self.pkcs8)
    }

    /// The key id every token it signs names in its header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK (`OKP`, `Ed25519`, `EdDSA`, `use: sig`).
    pub fn jwk(&self) -> Jwk {
        Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(self.public),
            }),
        }
    }

    /// `claims` as a signed token (`alg: EdDSA`, `kid`, `typ: JWT`).
    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_comes_back_the_same() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_stored(&key.to_stored()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.jwk(), key.jwk());
        assert_ne!(SigningKey::generate().unwrap().kid(), key.kid());
        assert!(!format!("{key:?}").contains(&key.to_stored()));
    }

    #[test]
    fn anything_else_is_not_a_key() {
        for bad in ["", "not base64!", "AAAA", &STANDARD.encode([0u8; 48])] {
            assert!(SigningKey::from_stored(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_jwk_is_an_ed25519_public_key_only() {
        let key = SigningKey::generate().unwrap();
        let json = serde_json::to_value(key.jwk()).unwrap();
        assert_eq!(json["kty"], "OKP");
        assert_eq!(json["crv"], "Ed25519");
        assert_eq!(json["alg"], "EdDSA");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["kid"], key.kid());
        assert_eq!(json["x"].as_str().unwrap().len(), 43);
        assert!(json.get("d").is_none(), "no private part: {json}");
    }
}
