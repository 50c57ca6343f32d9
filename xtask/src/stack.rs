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

/// Where each process listens.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub edge: u16,
    pub identity: u16,
    pub shop: u16,
    pub public: u16,
}

impl Ports {
    /// The documented ports: edge 8080, zones 3001–3003.
    pub fn standard() -> Self {
        Self {
            edge: 8080,
            identity: Zone::Identity.default_addr().port(),
            shop: Zone::Shop.default_addr().port(),
            public: Zone::Public.default_addr().port(),
        }
    }

    /// Four free ports, so tests never collide with a running dev stack.
    pub fn free() -> anyhow::Result<Self> {
        let ports = probe::free_ports(4)?;
        Ok(Self {
            edge: ports[0],
            identity: ports[1],
            shop: ports[2],
            public: ports[3],
        })
    }

    pub fn zone(&self, zone: Zone) -> u16 {
        match zone {
            Zone::Identity => self.identity,
            Zone::Shop => self.shop,
            Zone::Public => self.public,
        }
    }

    pub fn edge_url(&self) -> String {
        format!("http://localhost:{}", self.edge)
    }

    /// Fails with a clear message when a port is taken.
    pub fn check_free(&self) -> anyhow::Result<()> {
        let named = [
            ("edge", self.edge),
            ("identity", self.identity),
            ("shop", self.shop),
            ("public", self.public),
        ];
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

    /// What must answer before the stack is ready: each zone's health
    /// endpoint directly, then each zone through the edge.
    pub fn readiness(&self) -> Vec<(String, SocketAddr, String)> {
        let mut checks: Vec<_> = Zone::ALL
            .iter()
            .map(|&zone| {
                (
                    zone.name().to_owned(),
                    local(self.zone(zone)),
                    zone.health_path(),
                )
            })
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

pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// The edge binary `binary`, told where every zone listens.
pub fn edge_command(project: &Project, binary: &std::path::Path, ports: &Ports) -> Command {
    let mut command = project.command(binary);
    command
        .env("EDGE_LISTEN", local(ports.edge).to_string())
        .env("EDGE_IDENTITY_UPSTREAM", local(ports.identity).to_string())
        .env("EDGE_SHOP_UPSTREAM", local(ports.shop).to_string())
        .env("EDGE_PUBLIC_UPSTREAM", local(ports.public).to_string());
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

/// Starts the release build of every zone and the edge.
pub fn spawn_release(
    supervisor: &mut Supervisor,
    project: &Project,
    ports: &Ports,
    shared: &Shared,
    sink: impl Fn(&str) -> Sink,
) -> anyhow::Result<()> {
    for zone in Zone::ALL {
        let binary = project.release_binary(zone.package());
        if !binary.is_file() {
            bail!(
                "{} is missing: run the release build first",
                binary.display()
            );
        }
        let mut command = project.command(&binary);
        command
            .env("LEPTOS_SITE_ADDR", local(ports.zone(zone)).to_string())
            .env("LEPTOS_SITE_ROOT", project.site_root(zone))
            .env("LEPTOS_ENV", "PROD");
        shared.apply(&mut command);
        supervisor.spawn(zone.name(), command, sink(zone.name()))?;
    }
    let edge = edge_command(project, &project.release_binary("edge"), ports);
    supervisor.spawn("edge", edge, sink("edge"))
}
