//! The mock's own secrets: random codes and tokens, the PKCE S256
//! transform, and comparing a secret without leaking where it differs.
//!
//! (shared-auth has the same helpers behind its `store` feature; the mock
//! does not take that feature, so it cannot reach the application's
//! database even by mistake.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// 32 random bytes from the operating system's CSPRNG, base64url without
/// padding (43 characters). `None` only if the OS has no randomness.
pub fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// base64url(SHA-256(verifier)): the PKCE S256 code challenge (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// SHA-256 of `secret`: what the in-memory maps are keyed by.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `given` equals `expected`, in time that depends on neither
/// value's content nor where they first differ: both are hashed to 32
/// bytes (so lengths do not show either) and the digests compared with
/// `subtle`.
pub fn secrets_equal(given: &str, expected: &str) -> bool {
    digest(given).ct_eq(&digest(expected)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn secrets_compare_by_whole_value() {
        assert!(secrets_equal("meridian-dev-secret", "meridian-dev-secret"));
        for wrong in [
            "",
            "meridian-dev-secreT",
            "meridian-dev-secret ",
            "meridian-dev-secre",
            "xeridian-dev-secret",
        ] {
            assert!(!secrets_equal(wrong, "meridian-dev-secret"), "{wrong:?}");
        }
    }
}
