//! Removing empty attempt groups left by worker processes that are gone (a crash, or a
//! process that exited while its attempts' processes were still dying).

use super::files::remove_group;
use super::layout::CgroupLayout;
use std::path::Path;

/// Removes the empty attempt groups under the parents whose worker (named by the `-w<pid>`
/// suffix) no longer runs. Groups still holding processes are left alone: the worker's
/// stale-attempt reaping kills those processes, and a later sweep takes the group.
pub(super) fn sweep_stale_groups(layout: &CgroupLayout) {
    let own_pid = std::process::id();
    let mut removed = 0;
    for hierarchy in &layout.hierarchies {
        let Ok(entries) = std::fs::read_dir(&hierarchy.parent_dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Some(worker_pid) = entry.file_name().to_str().and_then(worker_pid) else {
                continue;
            };
            let worker_alive = Path::new(&format!("/proc/{worker_pid}")).exists();
            if worker_pid != own_pid && !worker_alive && remove_group(&entry.path()) {
                removed += 1;
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed attempt cgroups left by earlier workers");
    }
}

/// The worker pid in an attempt group's name (`attempt-7-1-104-w4242`).
pub(super) fn worker_pid(name: &str) -> Option<u32> {
    let (_, pid) = name.strip_prefix("attempt-")?.rsplit_once("-w")?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_pid_is_read_from_attempt_group_names_only() {
        assert_eq!(worker_pid("attempt-7-1-104-w4242"), Some(4242));
        assert_eq!(worker_pid("attempt-7-1-104"), None);
        assert_eq!(worker_pid("probe-4242"), None);
        assert_eq!(worker_pid("orrery-worker"), None);
    }
}
