//! The mock provider's signing key: Ed25519, kept in a PEM file so every
//! identity instance (and every restart) signs with the same key.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openidconnect::JsonWebKeyId;
use openidconnect::core::CoreEdDsaPrivateSigningKey;
use shared_auth::token::hash;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410); the 32-byte
/// seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Reads the key at `path`, creating it first if it does not exist. Two
/// processes starting together end up with the same key: the file is
/// written aside and linked into place only if still absent.
pub fn load_or_create(path: &Path) -> anyhow::Result<CoreEdDsaPrivateSigningKey> {
    if !path.exists() {
        create(path)
            .with_context(|| format!("cannot create the mock IdP key {}", path.display()))?;
    }
    let pem = fs::read_to_string(path)
        .with_context(|| format!("cannot read the mock IdP key {}", path.display()))?;
    let kid = JsonWebKeyId::new(hash(&pem)[..16].to_owned());
    CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(kid))
        .map_err(|err| anyhow::anyhow!("{} is not an Ed25519 PKCS#8 key: {err}", path.display()))
}

fn create(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut file = fs::File::create(&temp)?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()?;
    }
    let linked = fs::hard_link(&temp, path);
    fs::remove_file(&temp)?;
    match linked {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::PrivateSigningKey as _;

    #[test]
    fn creates_once_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/idp.pem");
        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();
        let jwk = |k: &CoreEdDsaPrivateSigningKey| {
            serde_json::to_string(&k.as_verification_key()).unwrap()
        };
        assert_eq!(jwk(&first), jwk(&second));
        assert!(jwk(&first).contains("\"crv\":\"Ed25519\""));
    }

    #[test]
    fn a_corrupt_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.pem");
        fs::write(&path, "not a key").unwrap();
        let err = load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("is not an Ed25519 PKCS#8 key"), "{err}");
    }
}
