//! Finding out, once per worker process, whether attempts can get cgroups and where:
//! cgroup v2 when the worker's group there has the memory and cpu controllers, else v1.

use super::files::{
    create_group, ensure_group, prepare_parent, read_text, remove_group, write_value,
};
use super::layout::{
    CgroupLayout, CgroupVersion, Controllers, Hierarchy, is_absolute, parent_dir, plan_v1,
    v2_own_dir,
};
use super::mounts::{CgroupMount, OwnGroups, parse_mountinfo, parse_proc_cgroup};
use super::sweep::sweep_stale_groups;
use crate::config::WorkerConfig;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// Where a worker moves itself in cgroup v2 when its own group must hand controllers
/// down: v2 allows processes only in groups that do not (the "no internal processes"
/// rule), so the worker steps into a leaf of its own group, as service managers expect
/// of a process they delegated a group to.
const V2_WORKER_LEAF: &str = "orrery-worker";

/// What attempts of a worker get.
#[derive(Debug)]
pub(crate) enum CgroupSupport {
    /// The configuration turned cgroups off.
    Disabled,
    /// The host does not allow them; attempts run without limits.
    Unavailable,
    Available(CgroupLayout),
}

/// Detections so far, by `cgroup_parent` (`None` for disabled). The mounts and the
/// worker's own groups are facts about the process, so detecting once per process is
/// enough; the key lets several workers in one process (as in tests) differ.
static DETECTED: Mutex<BTreeMap<Option<String>, Arc<CgroupSupport>>> = Mutex::new(BTreeMap::new());

/// The support for `config`'s attempts: detected, and logged once, by the first attempt
/// that asks.
pub(crate) fn cgroup_support(config: &WorkerConfig) -> Arc<CgroupSupport> {
    let key = config.cgroups.then(|| config.cgroup_parent.clone());
    let mut detected = DETECTED.lock().unwrap_or_else(PoisonError::into_inner);
    detected
        .entry(key)
        .or_insert_with(|| Arc::new(detect_and_log(config)))
        .clone()
}

fn detect_and_log(config: &WorkerConfig) -> CgroupSupport {
    if !config.cgroups {
        tracing::info!("cgroups are turned off: attempts run without memory and cpu limits");
        return CgroupSupport::Disabled;
    }
    match detect(&config.cgroup_parent) {
        Ok(layout) => {
            sweep_stale_groups(&layout);
            let parents: Vec<String> = layout
                .hierarchies
                .iter()
                .map(|hierarchy| hierarchy.parent_dir.display().to_string())
                .collect();
            let controllers = layout.controllers();
            tracing::info!(
                version = ?layout.version,
                parents = %parents.join(", "),
                memory = controllers.memory,
                cpu = controllers.cpu,
                cpu_usage = controllers.cpu_usage,
                pids = controllers.pids,
                "attempts run in cgroups"
            );
            CgroupSupport::Available(layout)
        }
        Err(reason) => {
            tracing::warn!(
                %reason,
                "cannot make cgroups: attempts run without memory and cpu limits and report only wall time"
            );
            CgroupSupport::Unavailable
        }
    }
}

/// The layout, or why there is none (for the one warning).
fn detect(cgroup_parent: &str) -> Result<CgroupLayout, String> {
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))
    };
    let mounts = parse_mountinfo(&read("/proc/self/mountinfo")?);
    let own = parse_proc_cgroup(&read("/proc/self/cgroup")?);
    let v2_reason = match detect_v2(&mounts, &own, cgroup_parent) {
        Ok(layout) => return Ok(layout),
        Err(reason) => reason,
    };
    detect_v1(&mounts, &own, cgroup_parent)
        .map_err(|v1_reason| format!("cgroup v2: {v2_reason}; cgroup v1: {v1_reason}"))
}

fn detect_v2(
    mounts: &[CgroupMount],
    own: &OwnGroups,
    cgroup_parent: &str,
) -> Result<CgroupLayout, String> {
    let (own_dir, mount_point) =
        v2_own_dir(mounts, own).ok_or("no unified hierarchy shows the worker's group")?;
    let parent = parent_dir(&own_dir, &mount_point, cgroup_parent)?;
    let parent_is_ours = !is_absolute(cgroup_parent);
    let controllers = if parent_is_ours {
        let available = v2_controllers(&own_dir)?;
        hand_down_controllers(&own_dir, available)?;
        available
    } else {
        ensure_group(&parent).map_err(|error| error.to_string())?;
        v2_controllers(&parent)?
    };
    let layout = CgroupLayout {
        version: CgroupVersion::V2,
        hierarchies: vec![Hierarchy {
            parent_dir: parent,
            controllers,
        }],
    };
    probe(&layout)?;
    Ok(layout)
}

/// The controllers `group` can hand to its children; memory and cpu are required.
fn v2_controllers(group: &Path) -> Result<Controllers, String> {
    let listed = read_text(group, "cgroup.controllers").unwrap_or_default();
    let controllers = Controllers::v2(&listed);
    if controllers.memory && controllers.cpu {
        Ok(controllers)
    } else {
        Err(format!(
            "{} lacks the memory or cpu controller (it has: {:?})",
            group.display(),
            listed.trim()
        ))
    }
}

/// Enables `controllers` for the children of the worker's own group, moving the worker
/// into a leaf first if the group holds it.
fn hand_down_controllers(own_dir: &Path, controllers: Controllers) -> Result<(), String> {
    let line = controllers.v2_enable_line();
    let busy = match write_value(own_dir, "cgroup.subtree_control", &line) {
        Ok(()) => return Ok(()),
        Err(error) if error.source.kind() == io::ErrorKind::ResourceBusy => error,
        Err(error) => return Err(error.to_string()),
    };
    let leaf = own_dir.join(V2_WORKER_LEAF);
    ensure_group(&leaf).map_err(|error| error.to_string())?;
    write_value(&leaf, "cgroup.procs", "0").map_err(|error| error.to_string())?;
    tracing::info!(
        leaf = %leaf.display(),
        "moved the worker into a leaf of its cgroup so that the group can hand controllers to attempts"
    );
    write_value(own_dir, "cgroup.subtree_control", &line).map_err(|error| {
        format!(
            "{error} (after moving the worker out: other processes share its group; \
             first error: {busy}); set cgroup_parent to an absolute, delegated group"
        )
    })
}

fn detect_v1(
    mounts: &[CgroupMount],
    own: &OwnGroups,
    cgroup_parent: &str,
) -> Result<CgroupLayout, String> {
    let hierarchies = plan_v1(mounts, own, cgroup_parent)?;
    if !hierarchies
        .iter()
        .any(|hierarchy| hierarchy.controllers.memory)
    {
        return Err("no memory hierarchy shows the worker's group".to_owned());
    }
    let layout = CgroupLayout {
        version: CgroupVersion::V1,
        hierarchies,
    };
    probe(&layout)?;
    Ok(layout)
}

/// Makes each parent (kept from now on: attempts only make their own groups in it) and
/// makes and removes a group under it, to know now rather than at every attempt whether
/// the worker may (it needs root, or a delegated group, and a writable cgroup file
/// system).
fn probe(layout: &CgroupLayout) -> Result<(), String> {
    let name = format!("probe-{}", std::process::id());
    for hierarchy in &layout.hierarchies {
        prepare_parent(layout.version, hierarchy).map_err(|error| error.to_string())?;
        let probe = hierarchy.parent_dir.join(&name);
        create_group(&probe).map_err(|error| error.to_string())?;
        remove_group(&probe);
    }
    Ok(())
}
