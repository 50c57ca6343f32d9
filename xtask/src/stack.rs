//! The running app set: three zone servers, the mock OpenID provider
//! (development only, not a zone) and the edge, on known ports.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use contracts::Zone;
use contracts::zone::{EDGE_DEFAULT_ADDR, MOCK_IDP_DEFAULT_PORT, MOCK_IDP_PREFIX};

use crate::probe;
use crate::project::{Project, step};
use crate::supervisor::{Recipe, Sink, Supervisor};

/// The mock provider's process name and binary.
pub const MOCK_IDP: &str = "mock-idp";

/// The one client secret of every stack xtask runs: the mock provider's
/// `MOCK_IDP_CLIENT_SECRET` and identity's `OIDC_CLIENT_SECRET`. Only ever
/// used with the mock, on loopback; a real deployment sets its own.
pub const DEV_CLIENT_SECRET: &str = "meridian-dev-secret";

/// The mock provider's key file inside a stack's data directory.
const MOCK_IDP_KEY_FILE: &str = "mock-idp-ed25519.pem";

/// The mock provider's health endpoint.
pub fn mock_idp_health_path() -> String {
    format!("{MOCK_IDP_PREFIX}/health")
}

/// Most instances per zone `--instances` accepts (the standard ports of
/// instance n are the zone's port + 10·n, below the live-reload ports).
pub const MAX_INSTANCES: usize = 9;

/// Where each process listens: the edge, the mock provider, and every
/// instance of every zone.
#[derive(Clone, Debug)]
pub struct Ports {
    pub edge: u16,
    pub mock_idp: u16,
    /// Instance ports per zone, in `Zone::ALL` order.
    zones: [Vec<u16>; 3],
}

impl Ports {
    /// The documented ports: edge 8080, zones 3001–3003 (further instances
    /// 3011–3013, 3021–3023, …), the mock provider 3009.
    pub fn standard(instances: usize) -> Self {
        Self {
            edge: EDGE_DEFAULT_ADDR.port(),
            mock_idp: MOCK_IDP_DEFAULT_PORT,
            zones: Zone::ALL.map(|zone| {
                let base = zone.default_addr().port();
                (0..instances).map(|i| base + 10 * i as u16).collect()
            }),
        }
    }

    /// Free ports for everything, so tests never collide with a running
    /// dev stack.
    pub fn free(instances: usize) -> anyhow::Result<Self> {
        let mut ports = probe::free_ports(2 + 3 * instances)?.into_iter();
        let mut next = || ports.next().context("fewer free ports than asked for");
        let edge = next()?;
        let mock_idp = next()?;
        Ok(Self {
            edge,
            mock_idp,
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

    /// Identity's first instance, as the other zones reach it directly.
    pub fn identity_url(&self) -> String {
        let port = self.instances(Zone::Identity).first().copied();
        format!(
            "http://{}",
            local(port.unwrap_or(Zone::Identity.default_addr().port()))
        )
    }

    pub fn edge_url(&self) -> String {
        format!("http://localhost:{}", self.edge)
    }

    /// Fails with a clear message when a port is taken.
    pub fn check_free(&self) -> anyhow::Result<()> {
        let fixed = [
            ("edge".to_owned(), self.edge),
            (MOCK_IDP.to_owned(), self.mock_idp),
        ];
        let zones = self.every_instance().map(|(_, name, port)| (name, port));
        for (name, port) in fixed.into_iter().chain(zones) {
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
    /// health endpoint and the mock provider's directly, then each of them
    /// through the edge.
    pub fn readiness(&self) -> Vec<(String, SocketAddr, String)> {
        let mut checks: Vec<_> = self
            .every_instance()
            .map(|(zone, name, port)| (name, local(port), zone.health_path()))
            .collect();
        checks.push((
            MOCK_IDP.to_owned(),
            local(self.mock_idp),
            mock_idp_health_path(),
        ));
        checks.push((
            "edge".to_owned(),
            local(self.edge),
            contracts::zone::EDGE_HEALTH_PATH.to_owned(),
        ));
        checks.extend(Zone::ALL.iter().map(|&zone| {
            (
                format!("edge → {zone}"),
                local(self.edge),
                zone.health_path(),
            )
        }));
        checks.push((
            format!("edge → {MOCK_IDP}"),
            local(self.edge),
            mock_idp_health_path(),
        ));
        checks
    }
}

fn index(zone: Zone) -> usize {
    Zone::ALL
        .iter()
        .position(|&z| z == zone)
        .expect("Zone::ALL lists every zone")
}

pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// The edge binary `binary`, told where every zone and the mock provider
/// listen.
pub fn edge_command(project: &Project, binary: &Path, ports: &Ports, shared: &Shared) -> Command {
    let mut command = project.command(binary);
    command
        .env("EDGE_LISTEN", local(ports.edge).to_string())
        .env("EDGE_MOCK_IDP_UPSTREAM", local(ports.mock_idp).to_string());
    if !shared.edge_rate_limits {
        // Load stacks: every virtual user and wrk connection comes from
        // 127.0.0.1, so the per-client limits would measure themselves.
        command
            .env("EDGE_RATE_LIMITS", "false")
            .env("EDGE_MAX_CONNECTIONS_PER_CLIENT", "100000");
    }
    for (key, value) in shared.edge_env() {
        command.env(key, value);
    }
    for zone in Zone::ALL {
        let upstreams: Vec<String> = ports
            .instances(zone)
            .iter()
            .map(|&port| local(port).to_string())
            .collect();
        command.env(zone.upstream_env(), upstreams.join(","));
    }
    command
}

/// Settings the processes of one stack share.
#[derive(Clone, Debug)]
pub struct Shared {
    /// `DATABASE_URL` of the session store.
    pub database_url: String,
    /// `PUBLIC_ORIGIN`: the edge as users reach it.
    pub public_origin: String,
    /// The mock provider's signing key (`MOCK_IDP_KEY_FILE`).
    pub mock_idp_key_file: PathBuf,
    /// `IDENTITY_INTERNAL_URL`: where the zones reach identity directly
    /// (its first instance), for its JWKS and token refreshes.
    pub identity_internal_url: String,
    /// Whether the edge applies its per-client rate limits. Load stacks
    /// turn them off: all their virtual users share one address.
    pub edge_rate_limits: bool,
    /// Extra environment: `EDGE_*` variables go to the edge, the rest to the
    /// zones and the mock provider (e.g. `RUST_LOG`).
    pub env: Vec<(String, String)>,
}

impl Shared {
    /// The defaults of `cargo xtask dev` / `start` (the key file in the
    /// workspace's `data/`, beside the SQLite file).
    pub fn standard(ports: &Ports) -> Self {
        Self {
            database_url: crate::migrate::DEFAULT_DATABASE_URL.to_owned(),
            public_origin: ports.edge_url(),
            mock_idp_key_file: Path::new("data").join(MOCK_IDP_KEY_FILE),
            identity_internal_url: ports.identity_url(),
            edge_rate_limits: true,
            env: Vec::new(),
        }
    }

    /// The mock provider's issuer: where identity finds it (through the edge).
    pub fn issuer(&self) -> String {
        format!("{}{MOCK_IDP_PREFIX}", self.public_origin)
    }

    /// Applies this stack's settings to the command of `zone` (identity
    /// also learns its provider: the mock, and the shared client secret).
    pub fn apply(&self, zone: Zone, command: &mut Command) {
        command
            .env("DATABASE_URL", &self.database_url)
            .env("PUBLIC_ORIGIN", &self.public_origin)
            .env("IDENTITY_INTERNAL_URL", &self.identity_internal_url);
        if zone == Zone::Identity {
            command
                .env("OIDC_ISSUER_URL", self.issuer())
                .env("OIDC_CLIENT_SECRET", DEV_CLIENT_SECRET);
        }
        for (key, value) in self.process_env() {
            command.env(key, value);
        }
    }

    /// The extra settings for the zones and the mock (everything in `env`
    /// but the edge's own `EDGE_*` variables).
    fn process_env(&self) -> impl Iterator<Item = &(String, String)> {
        self.env.iter().filter(|(key, _)| !key.starts_with("EDGE_"))
    }

    /// The extra settings for the edge: the `EDGE_*` variables of `env`.
    fn edge_env(&self) -> impl Iterator<Item = &(String, String)> {
        self.env.iter().filter(|(key, _)| key.starts_with("EDGE_"))
    }
}

/// The mock provider binary `binary`, serving on `ports.mock_idp` for the
/// stack's public origin.
pub fn mock_idp_command(
    project: &Project,
    binary: &Path,
    ports: &Ports,
    shared: &Shared,
) -> Command {
    let mut command = project.command(binary);
    command
        .env("PUBLIC_ORIGIN", &shared.public_origin)
        .env("MOCK_IDP_LISTEN", local(ports.mock_idp).to_string())
        .env("MOCK_IDP_CLIENT_SECRET", DEV_CLIENT_SECRET)
        .env("MOCK_IDP_KEY_FILE", &shared.mock_idp_key_file);
    for (key, value) in shared.process_env() {
        command.env(key, value);
    }
    command
}

/// Whether the processes of a stack are started again when they exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// `cargo xtask start`: like systemd or Kubernetes, a process that
    /// exits is restarted with backoff and the rest keeps serving.
    Always,
    /// Test stacks: an exit is reported (fault tests restart by hand).
    Never,
}

/// Starts the release build of the mock provider, every zone instance and
/// the edge.
pub fn spawn_release(
    supervisor: &mut Supervisor,
    project: &Project,
    ports: &Ports,
    shared: &Shared,
    restart: Restart,
    sink: impl Fn(&str) -> Sink,
) -> anyhow::Result<()> {
    let mut spawn = |name: &str, recipe: Recipe| match restart {
        Restart::Always => supervisor.spawn_restartable(name, recipe, sink(name)),
        Restart::Never => supervisor.spawn(name, recipe()?, sink(name)),
    };
    let mock = release_binary(project, MOCK_IDP)?;
    let (p, s, pr) = (project.clone(), shared.clone(), ports.clone());
    spawn(
        MOCK_IDP,
        Box::new(move || Ok(mock_idp_command(&p, &mock, &pr, &s))),
    )?;
    for (zone, name, port) in ports.every_instance() {
        let (p, s) = (project.clone(), shared.clone());
        spawn(&name, Box::new(move || zone_command(&p, zone, port, &s)))?;
    }
    let edge = built(project.edge_release_binary())?;
    let (p, s, pr) = (project.clone(), shared.clone(), ports.clone());
    spawn(
        "edge",
        Box::new(move || Ok(edge_command(&p, &edge, &pr, &s))),
    )
}

/// The release binary `name`, which must have been built.
fn release_binary(project: &Project, name: &str) -> anyhow::Result<PathBuf> {
    built(project.release_binary(name))
}

/// `binary`, which must have been built.
fn built(binary: PathBuf) -> anyhow::Result<PathBuf> {
    if !binary.is_file() {
        bail!(
            "{} is missing: run the release build first",
            binary.display()
        );
    }
    Ok(binary)
}

/// The release binary of `zone`, serving on `port` with `shared` settings.
pub fn zone_command(
    project: &Project,
    zone: Zone,
    port: u16,
    shared: &Shared,
) -> anyhow::Result<Command> {
    let binary = release_binary(project, zone.package())?;
    let mut command = project.command(&binary);
    command
        .env("LEPTOS_SITE_ADDR", local(port).to_string())
        .env("LEPTOS_SITE_ROOT", project.site_root(zone))
        .env("LEPTOS_ENV", "PROD");
    shared.apply(zone, &mut command);
    Ok(command)
}

/// A release stack on free ports with fresh state, for one test run: the
/// zones, the mock provider and the edge; logs in `target/xtask/<name>-logs`,
/// data (the mock provider's key, and the SQLite file unless another
/// database is given) in `<name>-data`, both emptied first. Stopped when
/// dropped.
pub struct FreshStack {
    pub supervisor: Supervisor,
    pub ports: Ports,
    pub shared: Shared,
    pub logs: PathBuf,
}

impl FreshStack {
    /// Migrates the store, starts the mock provider, `instances` processes
    /// per zone and the edge, and waits until every one answers. `env` goes
    /// to the zones and the mock; `limits` says whether the edge applies its
    /// rate limits ([`Limits::Off`] for load stacks).
    pub fn start(
        project: &Project,
        name: &str,
        instances: usize,
        database_url: Option<String>,
        env: &[(&str, &str)],
        limits: Limits,
    ) -> anyhow::Result<Self> {
        let ports = Ports::free(instances)?;
        let logs = project.xtask_dir().join(format!("{name}-logs"));
        let data = project.xtask_dir().join(format!("{name}-data"));
        for dir in [&logs, &data] {
            empty_dir(dir)?;
        }
        let shared = Shared {
            database_url: database_url
                .unwrap_or_else(|| format!("sqlite://{}", data.join("sessions.sqlite").display())),
            public_origin: ports.edge_url(),
            mock_idp_key_file: data.join(MOCK_IDP_KEY_FILE),
            identity_internal_url: ports.identity_url(),
            edge_rate_limits: limits == Limits::On,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        crate::migrate::run(&shared.database_url)?;
        step(&format!(
            "Starting the {name} stack (edge on {})",
            ports.edge_url()
        ));
        let mut supervisor = Supervisor::new()?;
        spawn_release(
            &mut supervisor,
            project,
            &ports,
            &shared,
            Restart::Never,
            |process| Sink::File(logs.join(format!("{process}.log"))),
        )?;
        supervisor.wait_ready(&ports.readiness(), Duration::from_secs(60))?;
        println!("    server logs: {}", logs.display());
        Ok(Self {
            supervisor,
            ports,
            shared,
            logs,
        })
    }

    /// Another edge, process `name`, in front of this stack's zones on
    /// `port`, with `env` on top of the stack's (benches compare edge
    /// settings side by side); waits until it answers.
    pub fn spawn_edge(
        &mut self,
        project: &Project,
        name: &str,
        port: u16,
        env: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let binary = built(project.edge_release_binary())?;
        let mut ports = self.ports.clone();
        ports.edge = port;
        let mut command = edge_command(project, &binary, &ports, &self.shared);
        command.envs(env.iter().copied());
        self.supervisor
            .spawn(name, command, Sink::File(self.log(name)))?;
        let health = contracts::zone::EDGE_HEALTH_PATH.to_owned();
        self.supervisor.wait_ready(
            &[(name.to_owned(), local(port), health)],
            Duration::from_secs(20),
        )
    }

    /// The log file of process `name`.
    pub fn log(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }
}

/// Whether a [`FreshStack`]'s edge applies its per-client rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limits {
    /// As deployed (the end-to-end stack, which probes them).
    On,
    /// Load stacks: every virtual user comes from 127.0.0.1, so the limits
    /// would measure themselves.
    Off,
}

/// Creates `dir`, removing whatever was in it.
pub fn empty_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn project() -> Project {
        Project {
            root: PathBuf::from("/w"),
            target_dir: PathBuf::from("/w/target"),
        }
    }

    fn env(command: &Command) -> BTreeMap<String, String> {
        command
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str().unwrap().to_owned())))
            .collect()
    }

    #[test]
    fn the_mock_has_a_port_of_its_own() {
        let standard = Ports::standard(2);
        assert_eq!(standard.mock_idp, MOCK_IDP_DEFAULT_PORT);
        let free = Ports::free(2).unwrap();
        let mut all: Vec<u16> = vec![free.edge, free.mock_idp];
        for zone in Zone::ALL {
            all.extend(free.instances(zone));
        }
        assert_eq!(all.len(), 8);
        assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 8, "{all:?}");
    }

    #[test]
    fn readiness_waits_for_the_mock_directly_and_through_the_edge() {
        let ports = Ports::standard(1);
        let checks = ports.readiness();
        let health = mock_idp_health_path();
        assert_eq!(health, "/mock-idp/health");
        assert!(
            checks
                .iter()
                .any(|(_, addr, path)| *addr == local(MOCK_IDP_DEFAULT_PORT) && *path == health)
        );
        assert!(
            checks
                .iter()
                .any(|(_, addr, path)| *addr == local(8080) && *path == health)
        );
        // The direct check comes before the edge's (checks run in order).
        let direct = checks.iter().position(|(name, ..)| name == MOCK_IDP);
        let through = checks
            .iter()
            .position(|(name, ..)| name == "edge → mock-idp");
        assert!(direct < through, "{checks:?}");
    }

    #[test]
    fn identity_alone_learns_its_provider_and_secret() {
        let shared = Shared::standard(&Ports::standard(1));
        let mut identity = Command::new("zone-identity");
        shared.apply(Zone::Identity, &mut identity);
        let identity = env(&identity);
        assert_eq!(
            identity["OIDC_ISSUER_URL"],
            "http://localhost:8080/mock-idp"
        );
        assert_eq!(identity["OIDC_CLIENT_SECRET"], DEV_CLIENT_SECRET);
        assert_eq!(identity["PUBLIC_ORIGIN"], "http://localhost:8080");
        for zone in [Zone::Shop, Zone::Public] {
            let mut command = Command::new(zone.package());
            shared.apply(zone, &mut command);
            let vars = env(&command);
            assert!(!vars.contains_key("OIDC_CLIENT_SECRET"), "{zone}");
            assert!(vars.contains_key("DATABASE_URL"), "{zone}");
        }
        assert!(!identity.contains_key("MOCK_IDP_KEY_FILE"));
    }

    #[test]
    fn the_mock_gets_the_origin_its_address_the_secret_and_a_key_file() {
        let ports = Ports::free(1).unwrap();
        let mut shared = Shared::standard(&ports);
        shared.mock_idp_key_file = PathBuf::from("/w/target/xtask/e2e-data/mock-idp-ed25519.pem");
        shared.env.push(("RUST_LOG".into(), "warn".into()));
        let command = mock_idp_command(&project(), Path::new("mock-idp"), &ports, &shared);
        let vars = env(&command);
        assert_eq!(vars["PUBLIC_ORIGIN"], ports.edge_url());
        assert_eq!(vars["MOCK_IDP_LISTEN"], local(ports.mock_idp).to_string());
        assert_eq!(vars["MOCK_IDP_CLIENT_SECRET"], DEV_CLIENT_SECRET);
        assert_eq!(
            vars["MOCK_IDP_KEY_FILE"],
            "/w/target/xtask/e2e-data/mock-idp-ed25519.pem"
        );
        assert_eq!(vars["RUST_LOG"], "warn");
        assert_eq!(
            Shared::standard(&ports).mock_idp_key_file,
            Path::new("data/mock-idp-ed25519.pem")
        );
    }

    #[test]
    fn the_edge_routes_the_mock_and_load_stacks_lift_the_rate_limits() {
        let ports = Ports::standard(1);
        let mut shared = Shared::standard(&ports);
        let edge = env(&edge_command(
            &project(),
            Path::new("edge"),
            &ports,
            &shared,
        ));
        assert_eq!(edge["EDGE_MOCK_IDP_UPSTREAM"], "127.0.0.1:3009");
        assert_eq!(edge["EDGE_IDENTITY_UPSTREAM"], "127.0.0.1:3001");
        assert!(!edge.contains_key("EDGE_RATE_LIMITS"));
        shared.edge_rate_limits = false;
        let edge = env(&edge_command(
            &project(),
            Path::new("edge"),
            &ports,
            &shared,
        ));
        assert_eq!(edge["EDGE_RATE_LIMITS"], "false");
        assert_eq!(edge["EDGE_MAX_CONNECTIONS_PER_CLIENT"], "100000");
    }
}
