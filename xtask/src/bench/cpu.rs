//! CPU time a process has used so far (user + system, all threads), read
//! with `sysinfo` (from `/proc/<pid>/stat` on Linux): cheap enough to read
//! around every load run.

use anyhow::Context as _;
use nix::unistd::Pid;
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// Seconds of CPU process `pid` has used since it started.
pub fn seconds(pid: Pid) -> anyhow::Result<f64> {
    let id = sysinfo::Pid::from_u32(u32::try_from(pid.as_raw()).context("negative pid")?);
    let mut system = System::new().context("cannot read the process table")?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[id]),
        false,
        ProcessRefreshKind::nothing().with_cpu(),
    );
    let process = system
        .process(id)
        .with_context(|| format!("no process {pid} to read the CPU time of"))?;
    // Milliseconds, counted in clock ticks (10 ms on Linux).
    Ok(process.accumulated_cpu_time() as f64 / 1000.0)
}

/// Seconds of CPU process `pid` and its children (nginx's workers, say)
/// have used; a child that has exited is no longer counted, so read it
/// around runs during which no child exits.
pub fn tree_seconds(pid: Pid) -> anyhow::Result<f64> {
    let id = sysinfo::Pid::from_u32(u32::try_from(pid.as_raw()).context("negative pid")?);
    let mut system = System::new().context("cannot read the process table")?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_cpu(),
    );
    if system.process(id).is_none() {
        anyhow::bail!("no process {pid} to read the CPU time of");
    }
    let millis: u64 = system
        .processes()
        .values()
        // sysinfo lists a process's threads as processes too (their
        // parent is the process, their time already in its own): only
        // processes count.
        .filter(|p| p.thread_kind().is_none())
        .filter(|p| p.pid() == id || p.parent() == Some(id))
        .map(|p| p.accumulated_cpu_time())
        .sum();
    Ok(millis as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_cpu_time_and_fails_for_no_process() {
        // Burn some CPU so that at least one clock tick is counted.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let own = seconds(Pid::this()).unwrap();
        assert!(own > 0.0, "our own CPU time must be readable: {own}");
        // pid_max is at most 2^22 on Linux.
        assert!(seconds(Pid::from_raw(i32::MAX)).is_err());
        // This test process has several threads; none is counted twice.
        let tree = tree_seconds(Pid::this()).unwrap();
        assert!(tree >= own && tree < own * 1.5 + 0.05, "{tree} vs {own}");
        assert!(tree_seconds(Pid::from_raw(i32::MAX)).is_err());
    }
}
