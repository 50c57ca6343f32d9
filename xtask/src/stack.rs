//! The running app set: three zone servers and the edge, on known ports.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use shared_auth::Zone;

use crate::probe;
use crate::project::{Project, step};
use crate::supervisor::{Sink, Supervisor};

/// Health endpoint of the edge itself.
const EDGE_HEALTH: &str = "/_edge/health";

/// Most instances per zone `--instances` accepts (the standard ports of
/// instance n are the zone's port + 10·n, below the live-reload ports).
pub const MAX_INSTANCES: usize = 9;

/// Where each process listens: the edge, and every instance of every zone.
#[derive(Clone, Debug)]
pub struct Ports {
    pub edge: u16,
    /// Instance ports per zone, in `Zone::ALL` order.
    zones: [Vec<u16>; 3],
}

impl Ports {
    /// The documented ports: edge 8080, zones 3001–3003 (further instances
    /// 3011–3013, 3021–3023, …).
    pub fn standard(instances: usize) -> Self {
        Self {
            edge: 8080,
            zones: Zone::ALL.map(|zone| {
                let base = zone.default_addr().port();
                (0..instances).map(|i| base + 10 * i as u16).collect()
            }),
        }
    }

    /// Free ports for everything, so tests never collide with a running
    /// dev stack.
    pub fn free(instances: usize) -> anyhow::Result<Self> {
        let mut ports = probe::free_ports(1 + 3 * instances)?.into_iter();
        let edge = ports.next().unwrap_or_default();
        Ok(Self {
            edge,
            zones: Zone::ALL.map(|_| ports.by_ref().take(instances).collect()),
        })
    }

    /// The port of every instance of `zone`.
    pub fn instances(&self, zone: Zone) -> &[u16] {
        &self.zones[index(zone)]
    }

    /// The process name of instance `i` of `zone`: `shop`, or `shop-2`
    /// when there are several.
    pub fn instance_name(&self, zone: Zone, i: usize) -> String {
        if self.instances(zone).len() == 1 {
            zone.name().to_owned()
        } else {
            format!("{}-{}", zone.name(), i + 1)
        }
    }

    /// Every zone instance: its zone, process name and port.
    fn every_instance(&self) -> impl Iterator<Item = (Zone, String, u16)> + '_ {
        Zone::ALL.into_iter().flat_map(move |zone| {
            self.instances(zone)
                .iter()
                .enumerate()
                .map(move |(i, &port)| (zone, self.instance_name(zone, i), port))
        })
    }

    pub fn edge_url(&self) -> String {
        format!("http://localhost:{}", self.edge)
    }

    /// Fails with a clear message when a port is taken.
    pub fn check_free(&self) -> anyhow::Result<()> {
        let edge = ("edge".to_owned(), self.edge);
        let zones = self.every_instance().map(|(_, name, port)| (name, port));
        for (name, port) in std::iter::once(edge).chain(zones) {
            if probe::in_use(local(port)) {
                bail!(
                    "port {port} (for {name}) is already in use. Stop whatever listens there \
                     (another `cargo xtask dev` or `start`?) and try again."
                );
            }
        }
        Ok(())
    }

    /// What must answer before the stack is ready: every zone instance's
    /// health endpoint directly, then each zone through the edge.
    pub fn readiness(&self) -> Vec<(String, SocketAddr, String)> {
        let mut checks: Vec<_> = self
            .every_instance()
            .map(|(zone, name, port)| (name, local(port), zone.health_path()))
            .collect();
        checks.push(("edge".to_owned(), local(self.edge), EDGE_HEALTH.to_owned()));
        checks.extend(Zone::ALL.iter().map(|&zone| {
            (
                format!("edge → {zone}"),
                local(self.edge),
                zone.health_path(),
            )
        }));
        checks
    }
}

fn index(zone: Zone) -> usize {
    Zone::ALL
        .iter()
        .position(|&z| z == zone)
        .unwrap_or_default()
}

pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// The edge binary `binary`, told where every zone listens.
pub fn edge_command(project: &Project, binary: &std::path::Path, ports: &Ports) -> Command {
    let mut command = project.command(binary);
    command.env("EDGE_LISTEN", local(ports.edge).to_string());
    for zone in Zone::ALL {
        let upstreams: Vec<String> = ports
            .instances(zone)
            .iter()
            .map(|&port| local(port).to_string())
            .collect();
        command.env(
            format!("EDGE_{}_UPSTREAM", zone.name().to_uppercase()),
            upstreams.join(","),
        );
    }
    command
}

/// Settings every zone of one stack shares.
#[derive(Clone, Debug)]
pub struct Shared {
    /// `DATABASE_URL` of the session store.
    pub database_url: String,
    /// `PUBLIC_ORIGIN`: the edge as users reach it.
    pub public_origin: String,
    /// Extra environment for the zones (e.g. the mock IdP key file).
    pub env: Vec<(String, String)>,
}

impl Shared {
    /// The defaults of `cargo xtask dev` / `start`.
    pub fn standard(ports: &Ports) -> Self {
        Self {
            database_url: crate::migrate::DEFAULT_DATABASE_URL.to_owned(),
            public_origin: ports.edge_url(),
            env: Vec::new(),
        }
    }

    /// Applies this stack's settings to a zone command.
    pub fn apply(&self, command: &mut Command) {
        command
            .env("DATABASE_URL", &self.database_url)
            .env("PUBLIC_ORIGIN", &self.public_origin);
        for (key, value) in &self.env {
            command.env(key, value);
        }
    }
}

/// Starts the release build of every zone instance and the edge.
pub fn spawn_release(
    supervisor: &mut Supervisor,
    project: &Project,
    ports: &Ports,
    shared: &Shared,
    sink: impl Fn(&str) -> Sink,
) -> anyhow::Result<()> {
    for (zone, name, port) in ports.every_instance() {
        let command = zone_command(project, zone, port, shared)?;
        supervisor.spawn(&name, command, sink(&name))?;
    }
    let edge = edge_command(project, &project.release_binary("edge"), ports);
    supervisor.spawn("edge", edge, sink("edge"))
}

/// The release binary of `zone`, serving on `port` with `shared` settings.
pub fn zone_command(
    project: &Project,
    zone: Zone,
    port: u16,
    shared: &Shared,
) -> anyhow::Result<Command> {
    let binary = project.release_binary(zone.package());
    if !binary.is_file() {
        bail!(
            "{} is missing: run the release build first",
            binary.display()
        );
    }
    let mut command = project.command(&binary);
    command
        .env("LEPTOS_SITE_ADDR", local(port).to_string())
        .env("LEPTOS_SITE_ROOT", project.site_root(zone))
        .env("LEPTOS_ENV", "PROD");
    shared.apply(&mut command);
    Ok(command)
}

/// A release stack on free ports with fresh state, for one test run: logs
/// in `target/xtask/<name>-logs`, data (the mock IdP key, and the SQLite
/// file unless another database is given) in `<name>-data`, both emptied
/// first. Stopped when dropped.
pub struct FreshStack {
    pub supervisor: Supervisor,
    pub ports: Ports,
    pub shared: Shared,
    pub logs: PathBuf,
}

impl FreshStack {
    /// Migrates the store, starts `instances` processes per zone and the
    /// edge, and waits until every one answers. `env` goes to the zones.
    pub fn start(
        project: &Project,
        name: &str,
        instances: usize,
        database_url: Option<String>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let ports = Ports::free(instances)?;
        let logs = project.xtask_dir().join(format!("{name}-logs"));
        let data = project.xtask_dir().join(format!("{name}-data"));
        for dir in [&logs, &data] {
            empty_dir(dir)?;
        }
        let mut shared = Shared {
            database_url: database_url
                .unwrap_or_else(|| format!("sqlite://{}", data.join("sessions.sqlite").display())),
            public_origin: ports.edge_url(),
            env: vec![(
                "MOCK_IDP_KEY_FILE".to_owned(),
                data.join("mock-idp-ed25519.pem").display().to_string(),
            )],
        };
        shared
            .env
            .extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        crate::migrate::run(&shared.database_url)?;
        step(&format!(
            "Starting the {name} stack (edge on {})",
            ports.edge_url()
        ));
        let mut supervisor = Supervisor::new()?;
        spawn_release(&mut supervisor, project, &ports, &shared, |process| {
            Sink::File(logs.join(format!("{process}.log")))
        })?;
        supervisor.wait_ready(&ports.readiness(), Duration::from_secs(60))?;
        println!("    server logs: {}", logs.display());
        Ok(Self {
            supervisor,
            ports,
            shared,
            logs,
        })
    }

    /// The log file of process `name`.
    pub fn log(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }
}

/// Creates `dir`, removing whatever was in it.
pub fn empty_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}
