//! What the numbers were measured on, for the report: the machine from
//! `sysinfo`, the tools from their own `--version` lines.

use std::process::Command;

use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub os: String,
    pub kernel: String,
    pub rustc: String,
    pub nginx: String,
    pub wrk: String,
    /// When the run started (UTC).
    pub date: String,
}

/// What the report says of something it could not find out: the report
/// describes the machine, it does not fail the run for a missing detail.
const UNKNOWN: &str = "unknown";

impl Machine {
    pub fn describe() -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        )
        .ok();
        let cpu = system
            .as_ref()
            .and_then(|s| s.cpus().first())
            .map(|cpu| cpu.brand().trim().to_owned())
            .filter(|brand| !brand.is_empty());
        let memory = system.as_ref().map(System::total_memory);
        let os = match (System::name(), System::os_version()) {
            (Ok(name), Ok(version)) => format!("{name} {version}"),
            (Ok(name), Err(_)) => name,
            _ => UNKNOWN.to_owned(),
        };
        Self {
            cpu: cpu.unwrap_or_else(|| UNKNOWN.to_owned()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            memory_gib: memory.map_or(0.0, |bytes| bytes as f64 / 1024.0 / 1024.0 / 1024.0),
            os,
            kernel: System::kernel_version().unwrap_or_else(|_| UNKNOWN.to_owned()),
            rustc: first_line("rustc", &["-V"]),
            nginx: first_line(super::nginx::BINARY, &["-v"]),
            wrk: first_line("wrk", &["-v"]),
            date: first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        }
    }

    /// One line for the report's header.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} cores), {:.0} GiB RAM, {}, Linux {}, {}; {}; {}; {}",
            self.cpu,
            self.cores,
            self.memory_gib,
            self.os,
            self.kernel,
            self.rustc,
            self.nginx,
            self.wrk,
            self.date
        )
    }
}

/// The first line a command prints (on stdout or, like `nginx -v`, stderr).
fn first_line(program: &str, args: &[&str]) -> String {
    let Ok(out) = Command::new(program).args(args).output() else {
        return format!("{program}: not found");
    };
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    // A tool that prints nothing is reported as printing nothing.
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_this_machine() {
        let machine = Machine::describe();
        assert_ne!(machine.cpu, UNKNOWN);
        assert!(machine.cores >= 1);
        assert!(machine.memory_gib > 0.0, "{machine:?}");
        assert_ne!(machine.os, UNKNOWN);
        assert!(
            machine
                .kernel
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit()),
            "{machine:?}"
        );
        assert!(machine.rustc.starts_with("rustc "), "{machine:?}");
        assert!(first_line("no-such-program-here", &[]).ends_with("not found"));
    }
}
