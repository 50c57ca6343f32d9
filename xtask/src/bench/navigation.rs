//! Navigation in a real browser: `end2end/tests/navigation.spec.ts` in
//! Chromium through the edge of a release stack, once as built (speculation
//! rules on) and once on a stack started with `SPECULATION_RULES=false`,
//! side by side: bytes over the wire on a cold and a warm visit to each
//! zone's main page, time to `<html data-hydrated>`, and the hover-then-
//! click walk public → shop → identity with how each step was served.
//! Then `end2end/prerender/probe.mjs`: a click served from a prerender,
//! which Chromium never does while Playwright's debugger is attached,
//! against the same click without rules, both from a fresh browser.

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::project::{Project, run_step};
use crate::stack::{FreshStack, Limits};
use crate::tools;

/// One visit: bytes per resource type, their total, time to hydrated.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Visit {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub hydrated_ms: f64,
    #[serde(default)]
    pub document: u64,
    #[serde(default)]
    pub script: u64,
    #[serde(default)]
    pub stylesheet: u64,
    #[serde(default)]
    pub fetch: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Visits {
    pub cold: Visit,
    pub warm: Visit,
}

/// One hover-then-click step.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Step {
    pub ms: f64,
    /// `prerender`, `prefetch` or `network`.
    pub served: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Walk {
    pub public_to_shop: Step,
    pub shop_to_identity: Step,
}

/// What the spec reports for one stack.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Run {
    pub speculation: bool,
    pub public: Visits,
    pub shop: Visits,
    pub identity: Visits,
    pub navigation: Walk,
}

/// Clicks to one zone from a fresh browser, prerendered and not (medians).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Probe {
    pub prerendered_ms: f64,
    pub plain_ms: f64,
    /// Of `runs`, how many were activated from a prerender.
    pub prerendered_runs: u32,
    pub runs: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Probes {
    pub public_to_shop: Probe,
    pub public_to_identity: Probe,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub with_rules: Run,
    pub without_rules: Run,
    pub prerender: Probes,
}

/// Runs the spec against `edge` (speculation rules on), then against a
/// fresh stack with them off.
pub fn run(project: &Project, edge: &str, out: &Path, runs: usize) -> anyhow::Result<Row> {
    let with_rules = spec(project, edge, true, &out.join("navigation-with-rules.json"))?;
    let prerender = probe(project, edge, &out.join("navigation-prerender.json"), runs)?;
    let mut plain = FreshStack::start(
        project,
        "bench-no-speculation",
        1,
        None,
        &[("SPECULATION_RULES", "false")],
        Limits::Off,
    )?;
    let without_rules = spec(
        project,
        &plain.ports.edge_url(),
        false,
        &out.join("navigation-without-rules.json"),
    );
    plain.supervisor.shutdown();
    let row = Row {
        with_rules,
        without_rules: without_rules?,
        prerender,
    };
    for (label, run) in [
        ("with speculation rules", &row.with_rules),
        ("without", &row.without_rules),
    ] {
        println!(
            "    {label}: public → shop {:.0} ms ({}), shop → identity {:.0} ms ({}); \
             cold public / shop / identity {:.1} / {:.1} / {:.1} KB, warm {:.1} / {:.1} / {:.1} KB",
            run.navigation.public_to_shop.ms,
            run.navigation.public_to_shop.served,
            run.navigation.shop_to_identity.ms,
            run.navigation.shop_to_identity.served,
            kb(run.public.cold.total),
            kb(run.shop.cold.total),
            kb(run.identity.cold.total),
            kb(run.public.warm.total),
            kb(run.shop.warm.total),
            kb(run.identity.warm.total),
        );
    }
    Ok(row)
}

/// Where probe.html and its script are served from while the probe runs:
/// the public zone's pkg dir, same-origin with every zone (a prerender
/// must be). Removed again when dropped.
struct ProbePage {
    files: [std::path::PathBuf; 2],
}

impl ProbePage {
    const HTML: &str = "prerender-probe.html";

    fn install(project: &Project) -> anyhow::Result<Self> {
        let zone = contracts::Zone::Public;
        let pkg = project.site_root(zone).join(zone.pkg_dir());
        let source = project.root.join("end2end").join("prerender");
        let files = [pkg.join(Self::HTML), pkg.join("prerender-probe.js")];
        for (from, to) in ["probe.html", "probe.js"].iter().zip(&files) {
            std::fs::copy(source.join(from), to)
                .with_context(|| format!("cannot copy {from} to {}", to.display()))?;
        }
        Ok(Self { files })
    }

    fn path() -> String {
        format!("/{}/{}", contracts::Zone::Public.pkg_dir(), Self::HTML)
    }
}

impl Drop for ProbePage {
    fn drop(&mut self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// `end2end/prerender/probe.mjs` against `edge`, `runs` clicks each way.
fn probe(project: &Project, edge: &str, report: &Path, runs: usize) -> anyhow::Result<Probes> {
    let _ = std::fs::remove_file(report);
    let _page = ProbePage::install(project)?;
    let mut node = project.command("node");
    node.arg(Path::new("end2end").join("prerender").join("probe.mjs"))
        .env("E2E_BASE_URL", edge)
        .env("CHROMIUM_PATH", tools::CHROMIUM)
        .env("PROBE_PAGE", ProbePage::path())
        .env("PROBE_RUNS", runs.to_string())
        .env("PROBE_REPORT", report);
    run_step(
        "Prerendered clicks in Chromium, no debugger attached",
        &mut node,
        "See the probe's error above (end2end/prerender/probe.mjs).",
    )?;
    let text = std::fs::read_to_string(report)
        .with_context(|| format!("the probe wrote no report to {}", report.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot read {}", report.display()))
}

fn kb(bytes: u64) -> f64 {
    bytes as f64 / 1000.0
}

/// One Playwright run of the navigation spec; its report.
fn spec(project: &Project, edge: &str, rules: bool, report: &Path) -> anyhow::Result<Run> {
    let _ = std::fs::remove_file(report);
    let manifest = crate::manifest::write(project)?;
    let mut playwright = tools::playwright(project, "playwright.config.ts", edge, &manifest);
    playwright
        .arg("navigation")
        .env("E2E_NAVIGATION_REPORT", report)
        .env("E2E_SPECULATION", if rules { "on" } else { "off" });
    run_step(
        &format!(
            "Navigation in Chromium, speculation rules {}",
            if rules { "on" } else { "off" }
        ),
        &mut playwright,
        "See the failures above; traces are in end2end/test-results.",
    )?;
    let text = std::fs::read_to_string(report)
        .with_context(|| format!("the spec wrote no report to {}", report.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot read {}", report.display()))
}
