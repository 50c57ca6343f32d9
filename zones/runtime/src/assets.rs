//! How a zone serves its assets and compresses its answers:
//!
//! * [`release_stem`]: a release build's content-hashed bundle
//!   (`contracts::assets`), which the pages link instead of `app.*`;
//! * [`cache_assets`]: `Cache-Control` on `/<pkg-dir>/…`: hashed files are
//!   immutable for a year, anything else is revalidated (`no-cache`). The
//!   bytes are the `.br`/`.gz` variants the build wrote beside each file
//!   when the client accepts them (leptos_axum's `ServeDir` with its
//!   precompressed variants), so the answer carries `Vary:
//!   Accept-Encoding`;
//! * [`compression`]: other answers of a known length (server functions'
//!   JSON, `/me`, small pages) compressed on the fly above 1 KiB. Streamed
//!   pages are not: tower-http's compressor holds a stream's chunks until
//!   it ends (tower-http#292), which would delay the first byte; the pages
//!   are a few KB against a wasm bundle of a hundred or more.

use std::path::Path;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use contracts::Zone;
use contracts::assets::{AssetManifest, MANIFEST_FILE, is_hashed};
use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, VARY};
use http::{HeaderMap, HeaderValue, StatusCode, Version};
use tower_http::compression::predicate::Predicate;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// A hashed asset: the same bytes forever under that name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Anything else under the pkg dir: cached, but asked again each time.
pub const REVALIDATE: &str = "public, no-cache";
/// Answers smaller than this are sent as they are.
pub const COMPRESS_ABOVE_BYTES: u64 = 1024;

/// The stem of the hashed bundle in `site_root`'s pkg dir of `zone`, when a
/// release build left a manifest and every file it names.
pub fn release_stem(site_root: &Path, zone: Zone) -> Result<Option<String>, String> {
    let dir = site_root.join(zone.pkg_dir());
    let Ok(text) = std::fs::read_to_string(dir.join(MANIFEST_FILE)) else {
        return Ok(None);
    };
    let manifest: AssetManifest = serde_json::from_str(&text)
        .map_err(|err| format!("{} is not an asset manifest: {err}", dir.display()))?;
    for ext in ["js", "wasm", "css"] {
        let file = dir.join(format!("{}.{ext}", manifest.stem));
        if !file.is_file() {
            return Err(format!(
                "{} names {} but it is missing",
                MANIFEST_FILE,
                file.display()
            ));
        }
    }
    Ok(Some(manifest.stem))
}

/// Middleware: `Cache-Control` on a successful answer from `zone`'s pkg
/// dir that has none.
pub async fn cache_assets(State(zone): State<Zone>, request: Request, next: Next) -> Response {
    let hashed = request
        .uri()
        .path()
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(zone.pkg_dir()))
        .and_then(|p| p.strip_prefix('/'))
        .map(is_hashed);
    let mut response = next.run(request).await;
    let ok = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    if let Some(hashed) = hashed
        && ok
    {
        let headers = response.headers_mut();
        if !headers.contains_key(CACHE_CONTROL) {
            let value = if hashed { IMMUTABLE } else { REVALIDATE };
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
        }
        // The bytes depend on Accept-Encoding (a `.br`/`.gz` variant or
        // not), and `ServeDir` does not say so: a shared cache must know.
        if !headers.contains_key(VARY) {
            headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    response
}

/// On-the-fly compression of answers of a known length above 1 KiB in a
/// text type (see the module documentation).
pub fn compression() -> CompressionLayer<SizedText> {
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(SizedText)
}

/// The [`compression`] predicate.
#[derive(Clone, Copy, Debug, Default)]
pub struct SizedText;

impl Predicate for SizedText {
    fn should_compress<B>(&self, response: &http::Response<B>) -> bool
    where
        B: http_body::Body,
    {
        should_compress(response.headers(), response.version())
    }
}

fn should_compress(headers: &HeaderMap, _version: Version) -> bool {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let text = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            [
                "text/",
                "application/json",
                "application/javascript",
                "image/svg+xml",
            ]
            .iter()
            .any(|prefix| t.starts_with(prefix))
        });
    !headers.contains_key(CONTENT_ENCODING)
        && text
        && length.is_some_and(|n| n > COMPRESS_ABOVE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn only_sized_text_above_the_threshold_is_compressed() {
        let v = Version::HTTP_11;
        let json = [
            ("content-type", "application/json"),
            ("content-length", "4096"),
        ];
        assert!(should_compress(&headers(&json), v));
        let small = [
            ("content-type", "application/json"),
            ("content-length", "100"),
        ];
        assert!(!should_compress(&headers(&small), v));
        // A streamed page (no length) is never held back by the compressor.
        assert!(!should_compress(
            &headers(&[("content-type", "text/html")]),
            v
        ));
        let wasm = [
            ("content-type", "application/wasm"),
            ("content-length", "400000"),
        ];
        assert!(!should_compress(&headers(&wasm), v));
        let done = [
            ("content-type", "text/css"),
            ("content-length", "4096"),
            ("content-encoding", "br"),
        ];
        assert!(!should_compress(&headers(&done), v));
    }

    #[test]
    fn a_manifest_counts_only_with_every_file_it_names() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pkg = dir.path().join(Zone::Shop.pkg_dir());
        std::fs::create_dir_all(&pkg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(release_stem(dir.path(), Zone::Shop), Ok(None));
        let stem = "app.0123456789abcdef";
        std::fs::write(pkg.join(MANIFEST_FILE), format!(r#"{{"stem":"{stem}"}}"#))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(release_stem(dir.path(), Zone::Shop).is_err());
        for ext in ["js", "wasm", "css"] {
            std::fs::write(pkg.join(format!("{stem}.{ext}")), "x")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(
            release_stem(dir.path(), Zone::Shop),
            Ok(Some(stem.to_owned()))
        );
        std::fs::write(pkg.join(MANIFEST_FILE), "nonsense").unwrap_or_else(|e| panic!("{e}"));
        assert!(release_stem(dir.path(), Zone::Shop).is_err());
    }
}
