//! What the numbers were measured on, for the report.

use std::fs;
use std::process::Command;

use serde::Serialize;

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

impl Machine {
    pub fn describe() -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = fs::read_to_string("/etc/os-release").unwrap_or_default();
        Self {
            cpu: field(&cpuinfo, "model name", ':').unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            memory_gib: field(&meminfo, "MemTotal", ':')
                .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0 / 1024.0),
            os: field(&os_release, "PRETTY_NAME", '=')
                .map_or_else(|| "unknown".into(), |v| v.trim_matches('"').to_owned()),
            kernel: first_line("uname", &["-r"]),
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

/// The value of the first `key<sep>value` line.
fn field(text: &str, key: &str, sep: char) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(sep)?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
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
    fn reads_key_value_lines() {
        let cpuinfo = "processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\n";
        assert_eq!(
            field(cpuinfo, "model name", ':').as_deref(),
            Some("Some CPU @ 2.0GHz")
        );
        assert_eq!(
            field("NAME=\"Debian\"\n", "NAME", '=').as_deref(),
            Some("\"Debian\"")
        );
        assert_eq!(field(cpuinfo, "flags", ':'), None);
        assert!(first_line("no-such-program-here", &[]).ends_with("not found"));
    }
}
