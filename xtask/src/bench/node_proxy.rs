//! The Node anchor: `end2end/bench/node-proxy.mjs`, a keep-alive reverse
//! proxy on npm's `http-proxy` (what the SvelteKit proof of concept runs
//! in front of its zones), started under the stack's supervisor in front
//! of one zone.

use std::time::Duration;

use crate::project::Project;
use crate::stack::{FreshStack, local};
use crate::supervisor::Sink;

/// Process name under the supervisor.
pub const NAME: &str = "node-proxy";

/// Starts the Node proxy on `listen` in front of the zone instance on
/// `upstream`, and waits until `probe_path` answers through it.
pub fn start(
    project: &Project,
    stack: &mut FreshStack,
    listen: u16,
    upstream: u16,
    probe_path: &str,
) -> anyhow::Result<()> {
    let mut command = project.command("node");
    command
        .arg(project.root.join("end2end/bench/node-proxy.mjs"))
        .arg(listen.to_string())
        .arg(upstream.to_string());
    stack
        .supervisor
        .spawn(NAME, command, Sink::File(stack.log(NAME)))?;
    stack.supervisor.wait_ready(
        &[(NAME.to_owned(), local(listen), probe_path.to_owned())],
        Duration::from_secs(20),
    )
}
