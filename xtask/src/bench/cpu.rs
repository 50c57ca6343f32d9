//! CPU time a process has used so far (user + system, all threads), from
//! `/proc/<pid>/stat`: cheap enough to read around every load run.

use std::fs;

use anyhow::{Context as _, bail};
use nix::unistd::{Pid, SysconfVar, sysconf};

/// Seconds of CPU process `pid` has used since it started.
pub fn seconds(pid: Pid) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let ticks = ticks(&stat).with_context(|| format!("unexpected {path}: {stat}"))?;
    let per_second = sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    Ok(ticks as f64 / per_second as f64)
}

/// utime + stime (fields 14 and 15) of a `stat` line. The command name
/// (field 2) is in parentheses and may hold spaces, so count from its end.
fn ticks(stat: &str) -> anyhow::Result<u64> {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        bail!("no command name");
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state).
    let field = |n: usize| -> anyhow::Result<u64> {
        Ok(fields.get(n - 3).context("too few fields")?.parse()?)
    };
    Ok(field(14)? + field(15)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks() {
        let stat = "4242 (zone shop) S 1 4242 4242 0 -1 4194560 1234 0 0 0 350 25 0 0 20 0 9 0";
        assert_eq!(ticks(stat).unwrap_or_default(), 375);
        assert!(ticks("garbage").is_err());
        let own = seconds(Pid::this()).unwrap_or(-1.0);
        assert!(own >= 0.0, "our own CPU time must be readable");
    }
}
