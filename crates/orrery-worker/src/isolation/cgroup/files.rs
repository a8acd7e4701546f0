//! Reading, writing and emptying cgroup directories (the kernel's file interface).

use super::error::{CgroupAction, CgroupError};
use super::layout::{CgroupVersion, Hierarchy};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Writes `value` to the existing cgroup file `dir/file` in one write, as the kernel
/// expects; cgroup files cannot be created, so a missing one is `NotFound`.
pub(super) fn write_value(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let written = OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut opened| opened.write_all(value.as_bytes()));
    written.map_err(|source| CgroupError {
        action: CgroupAction::Write {
            value: value.to_owned(),
        },
        path,
        source,
    })
}

/// Makes the group `dir` (its parent must exist).
pub(super) fn create_group(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir(dir).map_err(|source| CgroupError {
        action: CgroupAction::Create,
        path: dir.to_owned(),
        source,
    })
}

/// Makes the group `dir` and any missing parents; an existing one is fine.
pub(super) fn ensure_group(dir: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir_all(dir).map_err(|source| CgroupError {
        action: CgroupAction::Create,
        path: dir.to_owned(),
        source,
    })
}

/// Makes the parent group of a hierarchy if it is missing and, in v2, lets its children
/// have the controllers. Done at detection, and again only if the parent disappeared.
pub(super) fn prepare_parent(
    version: CgroupVersion,
    hierarchy: &Hierarchy,
) -> Result<(), CgroupError> {
    let parent = &hierarchy.parent_dir;
    ensure_group(parent)?;
    let enable_line = hierarchy.controllers.v2_enable_line();
    if version == CgroupVersion::V2 && !enable_line.is_empty() {
        write_value(parent, "cgroup.subtree_control", &enable_line)?;
    }
    Ok(())
}

/// Opens `dir/cgroup.procs` for moving a process into the group.
pub(super) fn open_procs(dir: &Path) -> Result<File, CgroupError> {
    let path = dir.join("cgroup.procs");
    OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|source| CgroupError {
            action: CgroupAction::Open,
            path,
            source,
        })
}

/// The text of `dir/file`, if it can be read.
pub(super) fn read_text(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// The processes in the group; none when it is gone.
pub(super) fn pids(dir: &Path) -> Vec<i32> {
    read_text(dir, "cgroup.procs")
        .map(|text| {
            text.lines()
                .filter_map(|line| line.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// SIGKILLs every process in the group: at once with v2's `cgroup.kill` (Linux 5.14 and
/// later), else one by one. v1 has no `cgroup.kill`, so it is not tried there.
/// (A listed process could exit and its pid be reused in the microseconds before the
/// signal; v1 offers nothing better short of freezing the group first.)
pub(super) fn kill_all(version: CgroupVersion, dir: &Path) {
    if version == CgroupVersion::V2 && write_value(dir, "cgroup.kill", "1").is_ok() {
        return;
    }
    for pid in pids(dir) {
        if pid > 0 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Removes the group `dir`; true if it is gone (also when it already was).
pub(super) fn remove_group(dir: &Path) -> bool {
    match std::fs::remove_dir(dir) {
        Ok(()) => true,
        Err(error) => error.kind() == io::ErrorKind::NotFound,
    }
}
