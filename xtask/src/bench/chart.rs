//! The report's chart (PNG, plotters): edge vs nginx throughput, SSR
//! throughput per zone, and wasm size per zone against its budget. Bars
//! are medians, whiskers the range of the runs.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::report::{Results, WASM_BROTLI_BUDGET};
use super::stats::Spread;

const COLORS: [RGBColor; 3] = [
    RGBColor(0x8a, 0x8f, 0x98), // direct / first series: grey
    RGBColor(0x1f, 0x6f, 0xb5), // ours: blue
    RGBColor(0x2e, 0x9e, 0x5b), // nginx / third: green
];

/// A grouped bar panel: one bar per series in every group.
struct Bars {
    title: String,
    unit: &'static str,
    groups: Vec<String>,
    series: Vec<(String, Vec<Spread>)>,
    /// A horizontal budget line and its legend.
    limit: Option<(f64, String)>,
}

pub fn draw(results: &Results, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (1500, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let panels = root.split_evenly((1, 3));
    for (area, bars) in panels
        .iter()
        .zip([proxy(results), ssr(results), wasm(results)])
    {
        panel(area, &bars)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

/// The labels' font, DejaVu Sans, compiled in from the `dejavu` crate, so
/// the chart needs no system font.
fn register_font() -> anyhow::Result<()> {
    // plotters keeps fonts for the whole process; registering twice (a
    // second chart in one run) replaces the entry with the same bytes.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| anyhow!("the embedded DejaVu Sans is not a usable font"))
}

fn proxy(results: &Results) -> Bars {
    let path = results.settings.paths.first().cloned().unwrap_or_default();
    let concurrency = &results.settings.concurrency;
    let series = ["direct", "edge", "nginx", "node"]
        .into_iter()
        .map(|target| {
            let values = concurrency
                .iter()
                .map(|&c| {
                    results
                        .find_proxy(&path, c, target)
                        .map(|r| r.load.requests_per_sec.clone())
                        .unwrap_or_default()
                })
                .collect();
            (target.to_owned(), values)
        })
        .collect();
    Bars {
        title: format!("GET {path}: direct, edge, nginx, Node"),
        unit: "requests/s",
        groups: concurrency.iter().map(|c| format!("{c} conns")).collect(),
        series,
        limit: None,
    }
}

fn ssr(results: &Results) -> Bars {
    // One anonymous row per zone (token mode), in the order they were measured.
    let zones: Vec<&str> = results
        .ssr
        .iter()
        .filter(|r| !r.signed_in && r.mode == "token")
        .map(|r| r.zone)
        .collect();
    let series = [
        ("anonymous", "token", false),
        ("signed in, token mode", "token", true),
        ("signed in, store mode", "store", true),
    ]
    .into_iter()
    .map(|(name, mode, signed_in)| {
        let values = zones
            .iter()
            .map(|zone| {
                results
                    .ssr
                    .iter()
                    .find(|r| r.zone == *zone && r.mode == mode && r.signed_in == signed_in)
                    .map(|r| r.load.requests_per_sec.clone())
                    .unwrap_or_default()
            })
            .collect();
        (name.to_owned(), values)
    })
    .collect();
    Bars {
        title: format!(
            "Main page SSR via the edge, {} conns",
            results.settings.ssr_concurrency
        ),
        unit: "requests/s",
        groups: zones.iter().map(|z| (*z).to_owned()).collect(),
        series,
        limit: None,
    }
}

fn wasm(results: &Results) -> Bars {
    let rows: Vec<_> = results
        .payload
        .iter()
        .filter(|r| r.what == "app.wasm")
        .collect();
    let kb = |bytes: usize| Spread::of([bytes as f64 / 1000.0]);
    Bars {
        title: "Release wasm per zone".into(),
        unit: "KB",
        groups: rows.iter().map(|r| r.zone.to_owned()).collect(),
        series: vec![
            ("raw".into(), rows.iter().map(|r| kb(r.raw)).collect()),
            ("gzip".into(), rows.iter().map(|r| kb(r.gzip)).collect()),
            ("brotli".into(), rows.iter().map(|r| kb(r.brotli)).collect()),
        ],
        limit: Some((WASM_BROTLI_BUDGET as f64 / 1000.0, "budget (brotli)".into())),
    }
}

fn panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    bars: &Bars,
) -> anyhow::Result<()> {
    let groups = bars.groups.len().max(1);
    let top = bars
        .series
        .iter()
        .flat_map(|(_, values)| values.iter().map(|v| v.max))
        .chain(bars.limit.as_ref().map(|l| l.0))
        .fold(1.0_f64, f64::max)
        * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption(&bars.title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..(groups as f64 - 0.5), 0.0..top)
        .map_err(plot_error)?;
    let names = bars.groups.clone();
    let label = move |x: &f64| {
        let i = x.round();
        match names.get(i as usize) {
            Some(name) if (x - i).abs() < 1e-6 && i >= 0.0 => name.clone(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups)
        .x_label_formatter(&label)
        .y_label_formatter(&|y: &f64| format!("{y:.0}"))
        .y_desc(bars.unit)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(plot_error)?;
    let width = 0.8 / bars.series.len().max(1) as f64;
    for (j, (name, values)) in bars.series.iter().enumerate() {
        let color = COLORS[j % COLORS.len()];
        let left = |i: usize| i as f64 - 0.4 + j as f64 * width;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                Rectangle::new(
                    [(left(i), 0.0), (left(i) + width * 0.9, v.median)],
                    color.filled(),
                )
            }))
            .map_err(plot_error)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled()));
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.max > v.min)
                    .map(|(i, v)| {
                        let x = left(i) + width * 0.45;
                        PathElement::new(vec![(x, v.min), (x, v.max)], BLACK.stroke_width(2))
                    }),
            )
            .map_err(plot_error)?;
    }
    if let Some((limit, name)) = &bars.limit {
        let line = vec![(-0.5, *limit), (groups as f64 - 0.5, *limit)];
        chart
            .draw_series(std::iter::once(PathElement::new(line, RED.stroke_width(2))))
            .map_err(plot_error)?
            .label(name)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

fn plot_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png() {
        let path = std::env::temp_dir().join(format!("xtask-chart-{}.png", std::process::id()));
        let results = super::super::report::tests::sample();
        draw(&results, &path).unwrap_or_else(|e| panic!("{e:#}"));
        let png = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        assert!(
            png.len() > 10_000,
            "a 1500×540 chart with bars and text: {} bytes",
            png.len()
        );
    }
}
