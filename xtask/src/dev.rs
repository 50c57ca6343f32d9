//! `cargo xtask dev [ZONE…]`: the named zones (all three when none is
//! named) under `cargo leptos watch` (rebuild and live-reload on change,
//! shared crates included), every other zone from its release build (built
//! first when missing or older than its sources), the mock OpenID
//! provider on :3009 and the edge on :8080 with its development pages.

use std::time::Duration;

use contracts::Zone;

use crate::project::{Project, run_step, step};
use crate::stack::{self, Ports};
use crate::supervisor::{Sink, Supervisor};
use crate::zone_builds::Builds;
use crate::zone_progress::Start;
use crate::{rebuild_order, release_zones, tools};

#[derive(clap::Args)]
pub struct DevArgs {
    /// The zones to work on (identity, shop, public): they run under
    /// `cargo leptos watch`, the others from their release builds. All
    /// three when none is named.
    #[arg(value_name = "ZONE")]
    zones: Vec<Zone>,
}

impl DevArgs {
    /// The watched zones, in `Zone::ALL` order, each once.
    fn watched(&self) -> Vec<Zone> {
        Zone::ALL
            .into_iter()
            .filter(|z| self.zones.is_empty() || self.zones.contains(z))
            .collect()
    }
}

pub fn run(project: &Project, args: &DevArgs) -> anyhow::Result<()> {
    tools::ensure(project, tools::Need::default())?;
    let watched = args.watched();
    let released: Vec<Zone> = Zone::ALL
        .into_iter()
        .filter(|z| !watched.contains(z))
        .collect();
    let ports = Ports::standard(1);
    ports.check_free()?;
    let shared = stack::Shared::standard(&ports);
    crate::migrate::run(&shared.database_url)?;
    // For `npm run e2e` against this stack.
    crate::manifest::write(project)?;
    release_zones::build_stale(project, &released)?;
    run_step(
        "Building the edge and the mock OpenID provider",
        project
            .cargo()
            .args(["build", "--package", "edge", "--package", stack::MOCK_IDP]),
        "See the compiler output above.",
    )?;
    step(&format!(
        "Starting the mock provider, the edge, `cargo leptos watch` for {}{}",
        names(&watched),
        if released.is_empty() {
            String::new()
        } else {
            format!(" and the release build of {}", names(&released))
        }
    ));
    println!("    The first build of a zone takes a few minutes; later edits rebuild in seconds.");
    // Every process is started again if it exits, as under `start`; the
    // edge shows the waiting page for a zone meanwhile.
    let mut supervisor = Supervisor::new()?;
    let (p, pr, sh) = (project.clone(), ports.clone(), shared.clone());
    supervisor.spawn_restartable(
        stack::MOCK_IDP,
        Box::new(move || {
            Ok(stack::mock_idp_command(
                &p,
                &p.debug_binary(stack::MOCK_IDP),
                &pr,
                &sh,
            ))
        }),
        Sink::Terminal,
    )?;
    let (p, pr, sh, w) = (
        project.clone(),
        ports.clone(),
        shared.clone(),
        watched.clone(),
    );
    supervisor.spawn_restartable(
        "edge",
        Box::new(move || {
            let mut edge = stack::edge_command(&p, &p.debug_binary("edge"), &pr, &sh);
            let reload: Vec<String> = w
                .iter()
                .map(|z| format!("{}=127.0.0.1:{}", z.name(), z.default_reload_port()))
                .collect();
            edge.env("EDGE_DEV_RELOAD", reload.join(","))
                .env("EDGE_DEV_WAITING_PAGE", "true");
            Ok(edge)
        }),
        Sink::Terminal,
    )?;
    let edge = stack::local(ports.edge);
    let builds = Builds::new(&watched, edge)?;
    for &zone in &watched {
        let (p, sh) = (project.clone(), shared.clone());
        supervisor.spawn_restartable(
            zone.name(),
            Box::new(move || {
                let mut watch = p.cargo();
                watch.args(["leptos", "watch", "--project", zone.name()]);
                sh.apply(zone, &mut watch);
                Ok(watch)
            }),
            Sink::Observed(builds.observer(zone)),
        )?;
    }
    for &zone in &released {
        let port = ports.instances(zone)[0];
        let (p, sh) = (project.clone(), shared.clone());
        supervisor.spawn_restartable(
            zone.name(),
            Box::new(move || stack::zone_command(&p, zone, port, &sh)),
            Sink::Terminal,
        )?;
    }
    if watched.len() > 1 {
        rebuild_order::spawn(&project.root, watched.clone(), builds, edge)?;
    }
    println!(
        "\n    Open {} now: zones that are ready serve, the others show a page that \
         reloads by itself when they are.\n",
        ports.edge_url()
    );
    crate::zone_progress::report(
        Zone::ALL
            .iter()
            .map(|&zone| {
                let start = if watched.contains(&zone) {
                    Start::Building
                } else {
                    Start::Starting
                };
                (zone, stack::local(ports.instances(zone)[0]), start)
            })
            .collect(),
    )?;
    supervisor.wait_ready(&ports.readiness(), Duration::from_secs(60 * 60))?;
    println!(
        "\n    Ready: {}   (edit any file to rebuild and reload; Ctrl-C stops everything)\n",
        ports.edge_url()
    );
    supervisor.run_until_stopped()
}

fn names(zones: &[Zone]) -> String {
    zones
        .iter()
        .map(|z| z.name())
        .collect::<Vec<_>>()
        .join(", ")
}
