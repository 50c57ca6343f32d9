//! The mock provider's signing key: Ed25519, kept in a PEM file (mode
//! 0600) so restarts keep signing with the same key.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openidconnect::JsonWebKeyId;
use openidconnect::core::CoreEdDsaPrivateSigningKey;
use sha2::{Digest as _, Sha256};

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410); the 32-byte
/// seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Owner read/write only: the key signs id_tokens every client trusts.
pub const KEY_FILE_MODE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create or protect the mock IdP key {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the mock IdP key {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not an Ed25519 PKCS#8 key: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// Reads the key at `path`, creating it first if it does not exist. Two
/// processes starting together end up with the same key: the file is
/// written aside and linked into place only if still absent. An existing
/// file that others may read (one written by an older version) is made
/// 0600 first.
pub fn load_or_create(path: &Path) -> Result<CoreEdDsaPrivateSigningKey, KeyError> {
    let created = if path.exists() {
        restrict(path)
    } else {
        create(path)
    };
    created.map_err(|source| KeyError::Create {
        path: path.to_owned(),
        source,
    })?;
    let pem = fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let digest = Sha256::digest(pem.as_bytes());
    let kid: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(JsonWebKeyId::new(kid))).map_err(
        |err| KeyError::Invalid {
            path: path.to_owned(),
            reason: err.to_string(),
        },
    )
}

/// Takes group and other permissions away from an existing key file.
fn restrict(path: &Path) -> std::io::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = ?path, "the mock IdP key was readable by others; making it 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(KEY_FILE_MODE))?;
    }
    Ok(())
}

fn create(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| std::io::Error::other(err.to_string()))?;
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| {
        // Created 0600 from the start: the key is never readable by others,
        // not even for a moment.
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(KEY_FILE_MODE)
            .open(&temp)?;
        file.write_all(pem.as_bytes())?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    match linked {
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use openidconnect::PrivateSigningKey as _;

    use super::*;

    fn jwk(key: &CoreEdDsaPrivateSigningKey) -> String {
        serde_json::to_string(&key.as_verification_key()).unwrap()
    }

    #[test]
    fn creates_once_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/idp.pem");
        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();
        assert_eq!(jwk(&first), jwk(&second));
        assert!(jwk(&first).contains("\"crv\":\"Ed25519\""));
    }

    #[test]
    fn the_key_file_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.pem");
        load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        // No temporary file is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_existing_key_readable_by_others_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.pem");
        let first = load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(jwk(&first), jwk(&again));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
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
