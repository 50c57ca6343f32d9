//! The running app set: three zone servers and the edge, on known ports.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;

use anyhow::bail;
use shared_auth::Zone;

use crate::probe;
use crate::project::Project;
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

    pub fn edge_url(&self) -> String {
        format!("http://localhost:{}", self.edge)
    }

    /// Fails with a clear message when a port is taken.
    pub fn check_free(&self) -> anyhow::Result<()> {
        let mut named = vec![("edge".to_owned(), self.edge)];
        for zone in Zone::ALL {
            for (i, &port) in self.instances(zone).iter().enumerate() {
                named.push((self.instance_name(zone, i), port));
            }
        }
        for (name, port) in named {
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
        let mut checks = Vec::new();
        for zone in Zone::ALL {
            for (i, &port) in self.instances(zone).iter().enumerate() {
                checks.push((self.instance_name(zone, i), local(port), zone.health_path()));
            }
        }
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
    for zone in Zone::ALL {
        for (i, &port) in ports.instances(zone).iter().enumerate() {
            let name = ports.instance_name(zone, i);
            let command = zone_command(project, zone, port, shared)?;
            supervisor.spawn(&name, command, sink(&name))?;
        }
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
