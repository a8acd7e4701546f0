//! `AttemptCgroup`: one attempt's group in every hierarchy, from its creation with the
//! limits to its removal with the measurement.

use super::error::CgroupError;
use super::files::{
    create_group, ensure_group, kill_all, open_procs, pids, read_text, remove_group, write_value,
};
use super::layout::{CgroupLayout, CgroupVersion, Controller, Controllers};
use super::limits::{Limits, limit_writes};
use super::measurement::{Measurement, measure};
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How long the removal waits for killed processes to leave the group.
const CLEANUP_BOUND: Duration = Duration::from_secs(2);
const CLEANUP_POLL: Duration = Duration::from_millis(20);
/// Tries at making a group whose parent another attempt just removed, or which an
/// earlier attempt left behind.
const CREATE_TRIES: usize = 3;

/// The attempt's group in one hierarchy.
#[derive(Clone, Debug)]
struct Group {
    dir: PathBuf,
    /// Where the group is made: the same for every attempt.
    parent: PathBuf,
    controllers: Controllers,
}

/// An attempt's groups. Until `finish`, dropping it kills what runs in them and removes
/// them (in the background if processes are still exiting).
#[derive(Debug)]
pub(crate) struct AttemptCgroup {
    version: CgroupVersion,
    groups: Vec<Group>,
    parent_is_ours: bool,
    /// What was set, for the measurement.
    memory_limit_bytes: Option<u64>,
    armed: bool,
}

impl AttemptCgroup {
    /// Makes the group `name` in every hierarchy of `layout` and sets `limits` on it.
    pub(crate) fn create(
        layout: &CgroupLayout,
        name: &str,
        limits: &Limits,
    ) -> Result<Self, CgroupError> {
        let mut cgroup = Self {
            version: layout.version,
            groups: Vec::new(),
            parent_is_ours: layout.parent_is_ours,
            memory_limit_bytes: limits.memory_bytes.map(|bytes| bytes.get()),
            armed: true,
        };
        let enable_line = layout.controllers().v2_enable_line();
        for hierarchy in &layout.hierarchies {
            let group = Group {
                dir: hierarchy.parent_dir.join(name),
                parent: hierarchy.parent_dir.clone(),
                controllers: hierarchy.controllers,
            };
            make_group(layout.version, &group, &enable_line)?;
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
        for group in &self.groups {
            kill_all(&group.dir);
        }
    }

    /// Once the attempt's processes are gone: kills stragglers, reads what the attempt
    /// used, and removes the groups (and the parents, when they are the worker's and
    /// empty).
    pub(crate) async fn finish(mut self) -> Measurement {
        self.armed = false;
        let groups = std::mem::take(&mut self.groups);
        wait_until_empty(&groups).await;
        let mut measurement = measure(self.version, |controller, file| {
            let group = groups
                .iter()
                .find(|group| group.controllers.has(controller))?;
            read_text(&group.dir, file)
        });
        let memory_limited = groups.iter().any(|group| group.controllers.memory);
        measurement.memory_limit_bytes = self.memory_limit_bytes.filter(|_| memory_limited);
        remove(groups, self.parent_is_ours).await;
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
            kill_all(&group.dir);
        }
        // Empty groups (the attempt never started) go at once; others once their killed
        // processes have exited, unless the runtime is shutting down, in which case the
        // next worker's detection sweeps them.
        let parent_is_ours = self.parent_is_ours;
        let all = groups.clone();
        groups.retain(|group| !remove_group(&group.dir));
        if groups.is_empty() {
            if parent_is_ours {
                remove_parents_if_empty(&all);
            }
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                wait_until_empty(&groups).await;
                remove(groups, parent_is_ours).await;
            });
        }
    }
}

/// Makes one group, with its parent if needed. A parent removed meanwhile by another
/// attempt's cleanup is made again; an empty leftover of the same name (from an attempt
/// torn down while its processes were still exiting) is replaced.
fn make_group(version: CgroupVersion, group: &Group, enable_line: &str) -> Result<(), CgroupError> {
    let mut tries = 0;
    loop {
        tries += 1;
        ensure_group(&group.parent)?;
        if version == CgroupVersion::V2 && !enable_line.is_empty() {
            write_value(&group.parent, "cgroup.subtree_control", enable_line)?;
        }
        let error = match create_group(&group.dir) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        let retry = match error.source.kind() {
            io::ErrorKind::NotFound => true,
            io::ErrorKind::AlreadyExists => pids(&group.dir).is_empty() && remove_group(&group.dir),
            _ => false,
        };
        if !retry || tries >= CREATE_TRIES {
            return Err(error);
        }
    }
}

/// Kills what is left in the groups until they are empty, for a bounded time.
async fn wait_until_empty(groups: &[Group]) {
    let deadline = tokio::time::Instant::now() + CLEANUP_BOUND;
    loop {
        let occupied: Vec<&Group> = groups
            .iter()
            .filter(|group| !pids(&group.dir).is_empty())
            .collect();
        if occupied.is_empty() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                path = %occupied[0].dir.display(),
                "processes of an attempt are still in its cgroup after being killed"
            );
            return;
        }
        for group in occupied {
            kill_all(&group.dir);
        }
        tokio::time::sleep(CLEANUP_POLL).await;
    }
}

/// Removes the groups, retrying while the kernel still counts exiting processes, then
/// the worker's own parents if nothing else is in them.
async fn remove(groups: Vec<Group>, parent_is_ours: bool) {
    let deadline = tokio::time::Instant::now() + CLEANUP_BOUND;
    let mut left = groups.clone();
    loop {
        left.retain(|group| !remove_group(&group.dir));
        if left.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            for group in &left {
                tracing::warn!(path = %group.dir.display(), "cannot remove an attempt's cgroup");
            }
            break;
        }
        tokio::time::sleep(CLEANUP_POLL).await;
    }
    if parent_is_ours {
        remove_parents_if_empty(&groups);
    }
}

/// Other attempts' groups keep a parent busy, which is fine: the last one removes it.
fn remove_parents_if_empty(groups: &[Group]) {
    for group in groups {
        if let Err(error) = std::fs::remove_dir(&group.parent)
            && !matches!(
                error.kind(),
                io::ErrorKind::ResourceBusy
                    | io::ErrorKind::DirectoryNotEmpty
                    | io::ErrorKind::NotFound
            )
        {
            tracing::debug!(
                path = %group.parent.display(),
                %error,
                "cannot remove the attempts' parent cgroup"
            );
        }
    }
}
