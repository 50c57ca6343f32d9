//! A snapshot of the machine's processes (sysinfo), for the tools that
//! look for their own children: the dev loop's rebuild ordering (which
//! watcher is building) and the bench's check of what `dev` runs.

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

/// Every process with its command line and, as asked, its working
/// directory or executable; `None` where the table cannot be read.
pub fn snapshot(cwd: bool, exe: bool) -> Option<System> {
    let mut system = System::new().ok()?;
    let mut refresh = ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always);
    if cwd {
        refresh = refresh.with_cwd(UpdateKind::Always);
    }
    if exe {
        refresh = refresh.with_exe(UpdateKind::Always);
    }
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh);
    Some(system)
}
