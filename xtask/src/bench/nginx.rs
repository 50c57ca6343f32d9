//! nginx (Debian's) as the reference reverse proxy: the bench writes a
//! config into a scratch folder and runs it in the foreground under the
//! stack's supervisor, in front of one zone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::stack::{FreshStack, empty_dir, local};
use crate::supervisor::Sink;

/// Where Debian installs the binary.
pub const BINARY: &str = "/usr/sbin/nginx";

/// The configuration: `worker_processes auto` (one per core, like the
/// edge's runtime), an access log like the edge's, HTTP/1.1 with a pool of
/// kept-alive connections to the zone, and the forwarding headers the edge
/// sets as well.
pub fn config(dir: &Path, listen: u16, upstream: u16) -> String {
    let dir = dir.display();
    let upstream = local(upstream);
    let listen = local(listen);
    format!(
        "worker_processes auto;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client-body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream zone {{
        server {upstream};
        keepalive 64;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://zone;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"
    )
}

/// Starts nginx on `listen` in front of the zone instance on `upstream`,
/// as process `nginx` of `stack` (stopped with it), and waits until
/// `probe_path` answers through it.
pub fn start(
    stack: &mut FreshStack,
    dir: &Path,
    listen: u16,
    upstream: u16,
    probe_path: &str,
) -> anyhow::Result<()> {
    empty_dir(dir)?;
    let conf: PathBuf = dir.join("nginx.conf");
    fs::write(&conf, config(dir, listen, upstream))
        .with_context(|| format!("cannot write {}", conf.display()))?;
    let mut command = Command::new(BINARY);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.join("error.log"));
    stack
        .supervisor
        .spawn("nginx", command, Sink::File(stack.log("nginx")))?;
    stack.supervisor.wait_ready(
        &[("nginx".to_owned(), local(listen), probe_path.to_owned())],
        Duration::from_secs(20),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_to_the_zone_with_kept_alive_connections() {
        let conf = config(Path::new("/tmp/b"), 8090, 3003);
        assert!(conf.contains("listen 127.0.0.1:8090;"));
        assert!(conf.contains("server 127.0.0.1:3003;"));
        assert!(conf.contains("keepalive 64;"));
        assert!(conf.contains("proxy_set_header Connection \"\";"));
        assert!(conf.contains("pid /tmp/b/nginx.pid;"));
        // Balanced braces: nginx would refuse the file otherwise.
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }
}
