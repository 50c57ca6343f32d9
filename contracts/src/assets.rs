//! The release asset manifest. After a release build `cargo xtask` leaves,
//! in each zone's `<site-root>/<pkg-dir>/`, content-hashed copies of
//! cargo-leptos' `app.{js,wasm,css}` (`app.<hash>.js`, …: one hash over the
//! three, which change together) and [`MANIFEST_FILE`] naming their stem.
//! A zone running in production links the hashed names, and serves every
//! hashed file as immutable.

use serde::{Deserialize, Serialize};

/// The manifest's file name in the zone's `pkg-dir`.
pub const MANIFEST_FILE: &str = "assets.json";

/// Hex digits of a content hash in an asset's name.
pub const HASH_LEN: usize = 16;

/// What [`MANIFEST_FILE`] holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetManifest {
    /// `app.<hash>`: the page links `<stem>.js`, `<stem>.wasm`, `<stem>.css`.
    pub stem: String,
    /// The release before, whose hashed files are kept for one more
    /// release (a page of the old build still loads its wasm during a
    /// rolling deploy).
    #[serde(default)]
    pub previous: Option<String>,
}

/// `app.<hash>` for `output_name` `app` and a hex `hash`.
pub fn stem(output_name: &str, hash: &str) -> String {
    format!("{output_name}.{hash}")
}

/// Whether `file` (a name in a pkg dir, perhaps with a `.br`/`.gz` suffix)
/// is a content-hashed asset: `<name>.<16 hex>.<js|wasm|css>`. Its bytes
/// never change under that name.
pub fn is_hashed(file: &str) -> bool {
    let file = file
        .strip_suffix(".br")
        .or_else(|| file.strip_suffix(".gz"))
        .unwrap_or(file);
    let mut parts = file.rsplitn(3, '.');
    let (Some(ext), Some(hash), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    matches!(ext, "js" | "wasm" | "css")
        && !name.is_empty()
        && hash.len() == HASH_LEN
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_names_count() {
        assert!(is_hashed("app.0123456789abcdef.wasm"));
        assert!(is_hashed("app.0123456789abcdef.js.br"));
        assert!(is_hashed(&format!(
            "{}.css",
            stem("app", "fedcba9876543210")
        )));
        assert!(!is_hashed("app.wasm"));
        assert!(
            !is_hashed("app.0123456789ABCDEF.wasm"),
            "lower-case hex only"
        );
        assert!(!is_hashed("app.0123456789abcde.wasm"), "15 digits");
        assert!(!is_hashed(".0123456789abcdef.wasm"));
        assert!(!is_hashed("app.0123456789abcdef.html"));
        assert!(!is_hashed("assets.json"));
    }

    #[test]
    fn the_manifest_reads_without_a_previous_release() {
        let manifest: AssetManifest = serde_json::from_str(r#"{"stem":"app.0123456789abcdef"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(manifest.previous, None);
    }
}
