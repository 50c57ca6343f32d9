//! Payload: what a browser downloads per zone — the release wasm, its JS
//! glue and the stylesheet as built, and the HTML of the zone's main page
//! — raw, gzip (level 9) and brotli (quality 11, what a build step would
//! precompress with).

use std::path::Path;

use anyhow::Context as _;
use contracts::Zone;
use serde::Serialize;

use crate::compress::{brotli, gzip};
use crate::project::Project;

/// Sizes of one file or page, in bytes.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub zone: &'static str,
    /// `app.wasm`, `app.js`, `app.css`, or the page's path.
    pub what: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

/// The release assets each zone serves from `<site-root>/<pkg-dir>/`.
const ASSETS: [&str; 3] = ["app.wasm", "app.js", "app.css"];

/// Sizes of every zone's assets, and of each main page fetched through
/// the edge at `edge`, anonymous and with `cookie`.
pub fn run(project: &Project, edge: &str, cookie: &str) -> anyhow::Result<Vec<Row>> {
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut rows = Vec::new();
    for zone in Zone::ALL {
        let pkg = project.site_root(zone).join(zone.pkg_dir());
        for asset in ASSETS {
            let bytes = read(&pkg.join(asset))?;
            rows.push(sizes(zone, asset.to_owned(), &bytes)?);
        }
        for (label, cookie) in [("", None), (" (signed in)", Some(cookie))] {
            let mut request = http.get(format!("{edge}{}", zone.home()));
            if let Some(cookie) = cookie {
                request = request.header(reqwest::header::COOKIE, cookie);
            }
            let page = request
                .send()
                .and_then(reqwest::blocking::Response::error_for_status)
                .with_context(|| format!("cannot fetch {}", zone.home()))?
                .bytes()?;
            rows.push(sizes(zone, format!("{}{label}", zone.home()), &page)?);
        }
    }
    for row in &rows {
        println!(
            "    {:<8} {:<20} {:>8} raw {:>8} gzip {:>8} brotli",
            row.zone, row.what, row.raw, row.gzip, row.brotli
        );
    }
    Ok(rows)
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "cannot read {} (the release build should have written it)",
            path.display()
        )
    })
}

fn sizes(zone: Zone, what: String, bytes: &[u8]) -> anyhow::Result<Row> {
    Ok(Row {
        zone: zone.name(),
        what,
        raw: bytes.len(),
        gzip: gzip(bytes)?.len(),
        brotli: brotli(bytes)?.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_of_the_compressed_bytes() {
        let text = "<p>the same words again and again</p>\n".repeat(200);
        let row = sizes(Zone::Public, "page".into(), text.as_bytes()).unwrap_or_else(|e| {
            panic!("{e}");
        });
        assert_eq!(row.raw, text.len());
        assert!(
            row.gzip < row.raw / 10 && row.brotli < row.raw / 10,
            "{row:?}"
        );
    }
}
