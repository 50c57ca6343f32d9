//! `cargo xtask dev`: every zone under `cargo leptos watch` (rebuild and
//! live-reload on change, shared-ui included), the mock OpenID provider on
//! :3009 and the edge on :8080.

use std::time::Duration;

use contracts::Zone;

use crate::project::{Project, run_step, step};
use crate::stack::{self, Ports};
use crate::supervisor::{Sink, Supervisor};
use crate::tools;

pub fn run(project: &Project) -> anyhow::Result<()> {
    tools::ensure(project, tools::Need::default())?;
    let ports = Ports::standard(1);
    ports.check_free()?;
    let shared = stack::Shared::standard(&ports);
    crate::migrate::run(&shared.database_url)?;
    // For `npm run e2e` against this stack.
    crate::manifest::write(project)?;
    run_step(
        "Building the edge and the mock OpenID provider",
        project
            .cargo()
            .args(["build", "--package", "edge", "--package", stack::MOCK_IDP]),
        "See the compiler output above.",
    )?;
    step("Starting the mock provider, the edge and one `cargo leptos watch` per zone");
    println!(
        "    The first build of each zone takes a few minutes; later edits rebuild in seconds."
    );
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
    let (p, pr, sh) = (project.clone(), ports.clone(), shared.clone());
    supervisor.spawn_restartable(
        "edge",
        Box::new(move || {
            let mut edge = stack::edge_command(&p, &p.debug_binary("edge"), &pr, &sh);
            let reload: Vec<String> = Zone::ALL
                .iter()
                .map(|z| format!("{}=127.0.0.1:{}", z.name(), z.default_reload_port()))
                .collect();
            edge.env("EDGE_DEV_RELOAD", reload.join(","))
                .env("EDGE_DEV_WAITING_PAGE", "true");
            Ok(edge)
        }),
        Sink::Terminal,
    )?;
    for zone in Zone::ALL {
        let (p, sh) = (project.clone(), shared.clone());
        supervisor.spawn_restartable(
            zone.name(),
            Box::new(move || {
                let mut watch = p.cargo();
                watch.args(["leptos", "watch", "--project", zone.name()]);
                sh.apply(zone, &mut watch);
                Ok(watch)
            }),
            Sink::Terminal,
        )?;
    }
    println!(
        "\n    Open {} now: zones that are ready serve, the others show a page that \
         reloads by itself when they are.\n",
        ports.edge_url()
    );
    crate::zone_progress::report(
        Zone::ALL
            .iter()
            .map(|&zone| (zone, stack::local(ports.instances(zone)[0])))
            .collect(),
    )?;
    supervisor.wait_ready(&ports.readiness(), Duration::from_secs(60 * 60))?;
    println!(
        "\n    Ready: {}   (edit any file to rebuild and reload; Ctrl-C stops everything)\n",
        ports.edge_url()
    );
    supervisor.run_until_stopped()
}
