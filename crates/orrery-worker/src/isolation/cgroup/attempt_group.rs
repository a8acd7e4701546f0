//! `AttemptCgroup`: one attempt's group in each hierarchy it needs, from its creation with
//! the limits to its removal with the measurement.

use super::error::CgroupError;
use super::files::{
    create_group, kill_all, open_procs, pids, prepare_parent, read_text, remove_group, write_value,
};
use super::layout::{CgroupLayout, CgroupVersion, Controller, Controllers, Hierarchy};
use super::limits::{Limits, limit_writes};
use super::measurement::{Measurement, measure};
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How long the removal waits for killed processes to leave the group.
const CLEANUP_BOUND: Duration = Duration::from_secs(2);
const CLEANUP_POLL: Duration = Duration::from_millis(20);
/// Tries at making a group whose parent was removed from outside, or which an earlier
/// attempt left behind.
const CREATE_TRIES: usize = 3;

/// The attempt's group in one hierarchy.
#[derive(Clone, Debug)]
struct Group {
    dir: PathBuf,
    controllers: Controllers,
}

/// An attempt's groups. Until `finish`, dropping it kills what runs in them and removes
/// them (in the background if processes are still exiting).
///
/// The groups of one attempt hold the same processes: the child joins them all before
/// it execs, and its descendants inherit them. So one group (the first, which is the
/// memory group in v1 and the only one in v2) is enough to look for processes in;
/// the others are only emptied when their removal finds them busy.
#[derive(Debug)]
pub(crate) struct AttemptCgroup {
    version: CgroupVersion,
    groups: Vec<Group>,
    /// What was set, for the measurement.
    memory_limit_bytes: Option<u64>,
    armed: bool,
}

impl AttemptCgroup {
    /// Makes the group `name` in every hierarchy of `layout` holding a controller the
    /// limits need, and sets `limits` on it.
    pub(crate) fn create(
        layout: &CgroupLayout,
        name: &str,
        limits: &Limits,
    ) -> Result<Self, CgroupError> {
        let mut cgroup = Self {
            version: layout.version,
            groups: Vec::new(),
            memory_limit_bytes: limits.memory_bytes.map(|bytes| bytes.get()),
            armed: true,
        };
        let needed = limits.needed_controllers();
        let mut hierarchies: Vec<&Hierarchy> = layout
            .hierarchies
            .iter()
            .filter(|hierarchy| hierarchy.controllers.intersects(needed))
            .collect();
        // The memory group first: it is the one looked in for processes.
        hierarchies.sort_by_key(|hierarchy| !hierarchy.controllers.memory);
        for hierarchy in hierarchies {
            let group = Group {
                dir: hierarchy.parent_dir.join(name),
                controllers: hierarchy.controllers,
            };
            make_group(layout.version, hierarchy, &group)?;
            cgroup.groups.push(group);
        }
        for write in limit_writes(layout.version, limits) {
            let Some(group) = cgroup.group_with(write.controller) else {
                continue;
            };
            let written = write_value(&group.dir, write.file, &write.value);
            let absent_and_optional = matches!(
                &written,
                Err(error) if !write.required && error.source.kind() == io::ErrorKind::NotFound
            );
            if !absent_and_optional {
                written?;
            }
        }
        Ok(cgroup)
    }

    /// The `cgroup.procs` files the child writes itself into before it execs.
    pub(crate) fn open_procs(&self) -> Result<Vec<File>, CgroupError> {
        self.groups
            .iter()
            .map(|group| open_procs(&group.dir))
            .collect()
    }

    /// Kills every process still in the groups (those that left the process group).
    pub(crate) fn kill_remaining(&self) {
        if let Some(first) = self.groups.first() {
            kill_all(self.version, &first.dir);
        }
    }

    /// Once the attempt's processes are gone: kills stragglers, reads what the attempt
    /// used, and removes the groups. The parents stay.
    pub(crate) async fn finish(mut self) -> Measurement {
        self.armed = false;
        let groups = std::mem::take(&mut self.groups);
        wait_until_empty(self.version, &groups).await;
        let mut measurement = measure(self.version, |controller, file| {
            let group = groups
                .iter()
                .find(|group| group.controllers.has(controller))?;
            read_text(&group.dir, file)
        });
        let memory_limited = groups.iter().any(|group| group.controllers.memory);
        measurement.memory_limit_bytes = self.memory_limit_bytes.filter(|_| memory_limited);
        remove(self.version, groups).await;
        measurement
    }

    fn group_with(&self, controller: Controller) -> Option<&Group> {
        self.groups
            .iter()
            .find(|group| group.controllers.has(controller))
    }
}

impl Drop for AttemptCgroup {
    fn drop(&mut self) {
        if !self.armed || self.groups.is_empty() {
            return;
        }
        let mut groups = std::mem::take(&mut self.groups);
        for group in &groups {
            kill_all(self.version, &group.dir);
        }
        // Empty groups (the attempt never started) go at once; others once their killed
        // processes have exited, unless the runtime is shutting down, in which case the
        // next worker's detection sweeps them.
        groups.retain(|group| !remove_group(&group.dir));
        if groups.is_empty() {
            return;
        }
        let version = self.version;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                wait_until_empty(version, &groups).await;
                remove(version, groups).await;
            });
        }
    }
}

/// Makes one group. A parent removed from outside (by an administrator, or by a worker
/// of an older version, which removed its parent once empty) is made again; an empty
/// leftover of the same name (from an attempt torn down while its processes were still
/// exiting) is replaced.
fn make_group(
    version: CgroupVersion,
    hierarchy: &Hierarchy,
    group: &Group,
) -> Result<(), CgroupError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let error = match create_group(&group.dir) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let retry = match error.source.kind() {
            io::ErrorKind::NotFound => prepare_parent(version, hierarchy).is_ok(),
            io::ErrorKind::AlreadyExists => pids(&group.dir).is_empty() && remove_group(&group.dir),
            _ => false,
        };
        if !retry || tries >= CREATE_TRIES {
            return Err(error);
        }
    }
}

/// Kills what is left in the first group until it is empty, for a bounded time.
async fn wait_until_empty(version: CgroupVersion, groups: &[Group]) {
    let Some(first) = groups.first() else {
        return;
    };
    let deadline = tokio::time::Instant::now() + CLEANUP_BOUND;
    while !pids(&first.dir).is_empty() {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                path = %first.dir.display(),
                "processes of an attempt are still in its cgroup after being killed"
            );
            return;
        }
        kill_all(version, &first.dir);
        tokio::time::sleep(CLEANUP_POLL).await;
    }
}

/// Removes the groups, killing what a busy one still holds and retrying while the
/// kernel still counts exiting processes.
async fn remove(version: CgroupVersion, groups: Vec<Group>) {
    let deadline = tokio::time::Instant::now() + CLEANUP_BOUND;
    let mut left = groups;
    loop {
        left.retain(|group| !remove_group(&group.dir));
        if left.is_empty() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            for group in &left {
                tracing::warn!(path = %group.dir.display(), "cannot remove an attempt's cgroup");
            }
            return;
        }
        for group in &left {
            kill_all(version, &group.dir);
        }
        tokio::time::sleep(CLEANUP_POLL).await;
    }
}
