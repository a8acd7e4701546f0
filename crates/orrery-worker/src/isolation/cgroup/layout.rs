//! `CgroupLayout`: the hierarchies attempt groups are made in, and their parent group in
//! each, planned from the mounts and the worker's own groups.

use super::mounts::{CgroupMount, MountKind, OwnGroups, group_dir};
use std::path::{Component, Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CgroupVersion {
    /// One hierarchy per controller (or per few), each with its own tree of groups.
    V1,
    /// The unified hierarchy: one tree with every controller.
    V2,
}

/// A controller the worker uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Controller {
    Memory,
    /// CPU quota (`cpu`).
    Cpu,
    /// CPU time used (`cpuacct` in v1; `cpu.stat` exists in every v2 group).
    CpuUsage,
    Pids,
}

/// The controllers of a hierarchy that the worker uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Controllers {
    pub(crate) memory: bool,
    /// CPU quota (`cpu`).
    pub(crate) cpu: bool,
    /// CPU time used (`cpuacct` in v1; `cpu.stat` exists in every v2 group).
    pub(crate) cpu_usage: bool,
    pub(crate) pids: bool,
}

impl Controllers {
    pub(crate) fn has(self, controller: Controller) -> bool {
        match controller {
            Controller::Memory => self.memory,
            Controller::Cpu => self.cpu,
            Controller::CpuUsage => self.cpu_usage,
            Controller::Pids => self.pids,
        }
    }

    /// The v1 controller `name`, or none for others.
    fn v1(name: &str) -> Self {
        Self {
            memory: name == "memory",
            cpu: name == "cpu",
            cpu_usage: name == "cpuacct",
            pids: name == "pids",
        }
    }

    /// From a v2 `cgroup.controllers` file (`cpuset cpu io memory pids`).
    pub(super) fn v2(listed: &str) -> Self {
        let has = |name| listed.split_whitespace().any(|listed| listed == name);
        Self {
            memory: has("memory"),
            cpu: has("cpu"),
            cpu_usage: true,
            pids: has("pids"),
        }
    }

    /// Whether the two share a controller.
    pub(crate) fn intersects(self, other: Self) -> bool {
        (self.memory && other.memory)
            || (self.cpu && other.cpu)
            || (self.cpu_usage && other.cpu_usage)
            || (self.pids && other.pids)
    }

    fn union(self, other: Self) -> Self {
        Self {
            memory: self.memory || other.memory,
            cpu: self.cpu || other.cpu,
            cpu_usage: self.cpu_usage || other.cpu_usage,
            pids: self.pids || other.pids,
        }
    }

    /// The v2 `cgroup.subtree_control` line enabling these for child groups.
    pub(super) fn v2_enable_line(self) -> String {
        let names = [
            ("memory", self.memory),
            ("cpu", self.cpu),
            ("pids", self.pids),
        ];
        names
            .iter()
            .filter(|(_, enabled)| *enabled)
            .map(|(name, _)| format!("+{name}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One hierarchy, and the group under which attempt groups are made in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    pub(crate) parent_dir: PathBuf,
    pub(crate) controllers: Controllers,
}

/// Where attempt groups are made. The parent groups are made at detection and kept for
/// the worker's life (and after it, for the next worker with the same parent): removing
/// a parent when its last attempt ended only made the next attempt create it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CgroupLayout {
    pub(crate) version: CgroupVersion,
    pub(crate) hierarchies: Vec<Hierarchy>,
}

impl CgroupLayout {
    /// The controllers of all hierarchies together.
    pub(crate) fn controllers(&self) -> Controllers {
        self.hierarchies
            .iter()
            .fold(Controllers::default(), |all, hierarchy| {
                all.union(hierarchy.controllers)
            })
    }
}

/// The v1 controllers the worker uses, in the order their hierarchies are listed.
const V1_CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuacct", "pids"];

/// The parent group in every v1 hierarchy holding a controller the worker uses;
/// controllers mounted together (`cpu,cpuacct`) share one.
pub(super) fn plan_v1(
    mounts: &[CgroupMount],
    own: &OwnGroups,
    cgroup_parent: &str,
) -> Result<Vec<Hierarchy>, String> {
    let mut hierarchies: Vec<Hierarchy> = Vec::new();
    for controller in V1_CONTROLLERS {
        let Some(mount) = mounts.iter().find(|mount| match &mount.kind {
            MountKind::Legacy { controllers } => controllers.iter().any(|name| name == controller),
            MountKind::Unified => false,
        }) else {
            continue;
        };
        let Some(own_dir) = own
            .by_controller
            .get(controller)
            .and_then(|group| group_dir(mount, group))
        else {
            continue;
        };
        let parent_dir = parent_dir(&own_dir, &mount.mount_point, cgroup_parent)?;
        let controllers = Controllers::v1(controller);
        match hierarchies
            .iter_mut()
            .find(|hierarchy| hierarchy.parent_dir == parent_dir)
        {
            Some(shared) => shared.controllers = shared.controllers.union(controllers),
            None => hierarchies.push(Hierarchy {
                parent_dir,
                controllers,
            }),
        }
    }
    Ok(hierarchies)
}

/// The worker's own group in the unified hierarchy, and that hierarchy's mount point.
pub(super) fn v2_own_dir(mounts: &[CgroupMount], own: &OwnGroups) -> Option<(PathBuf, PathBuf)> {
    let group = own.unified.as_deref()?;
    mounts
        .iter()
        .filter(|mount| mount.kind == MountKind::Unified)
        .find_map(|mount| Some((group_dir(mount, group)?, mount.mount_point.clone())))
}

/// `cgroup_parent` under the worker's own group, or, when it starts with `/`, under the
/// hierarchy's mount point. Only plain names are allowed in it.
pub(super) fn parent_dir(
    own_dir: &Path,
    mount_point: &Path,
    cgroup_parent: &str,
) -> Result<PathBuf, String> {
    let relative = cgroup_parent.trim_start_matches('/');
    let components_are_plain = Path::new(relative)
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    if relative.is_empty() || !components_are_plain {
        return Err(format!(
            "cgroup_parent {cgroup_parent:?} must be a path of plain names (like \"orrery\")"
        ));
    }
    let base = if is_absolute(cgroup_parent) {
        mount_point
    } else {
        own_dir
    };
    Ok(base.join(relative))
}

/// An absolute `cgroup_parent` is the administrator's; a relative one the worker's.
pub(super) fn is_absolute(cgroup_parent: &str) -> bool {
    cgroup_parent.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::super::mounts::{parse_mountinfo, parse_proc_cgroup};
    use super::*;

    const MOUNTINFO: &str = "\
31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw";

    const OWN: &str = "4:memory:/jobs/w1\n3:pids:/\n2:cpu,cpuacct:/svc\n0::/init.scope";

    fn v1(cgroup_parent: &str) -> Result<Vec<Hierarchy>, String> {
        plan_v1(
            &parse_mountinfo(MOUNTINFO),
            &parse_proc_cgroup(OWN),
            cgroup_parent,
        )
    }

    fn hierarchy(parent_dir: &str, controllers: Controllers) -> Hierarchy {
        Hierarchy {
            parent_dir: parent_dir.into(),
            controllers,
        }
    }

    #[test]
    fn v1_parents_go_under_the_workers_own_group_in_each_hierarchy() {
        let cpu = Controllers {
            cpu: true,
            cpu_usage: true,
            ..Controllers::default()
        };
        let memory = Controllers {
            memory: true,
            ..Controllers::default()
        };
        let pids = Controllers {
            pids: true,
            ..Controllers::default()
        };
        assert_eq!(
            v1("orrery"),
            Ok(vec![
                hierarchy("/sys/fs/cgroup/memory/jobs/w1/orrery", memory),
                hierarchy("/sys/fs/cgroup/cpu,cpuacct/svc/orrery", cpu),
                hierarchy("/sys/fs/cgroup/pids/orrery", pids),
            ])
        );
        assert_eq!(
            v1("/tasks/orrery"),
            Ok(vec![
                hierarchy("/sys/fs/cgroup/memory/tasks/orrery", memory),
                hierarchy("/sys/fs/cgroup/cpu,cpuacct/tasks/orrery", cpu),
                hierarchy("/sys/fs/cgroup/pids/tasks/orrery", pids),
            ])
        );
    }

    #[test]
    fn a_parent_with_dots_or_nothing_in_it_is_refused() {
        for bad in ["", "/", "../escape", "a/../b"] {
            assert!(v1(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_unified_own_group_is_found_under_its_mount() {
        let found = v2_own_dir(&parse_mountinfo(MOUNTINFO), &parse_proc_cgroup(OWN));
        assert_eq!(
            found,
            Some((
                "/sys/fs/cgroup/unified/init.scope".into(),
                "/sys/fs/cgroup/unified".into()
            ))
        );
    }

    #[test]
    fn controllers_intersect_when_they_share_one() {
        let cpu_and_usage = Controllers {
            cpu: true,
            cpu_usage: true,
            ..Controllers::default()
        };
        let usage = Controllers {
            cpu_usage: true,
            ..Controllers::default()
        };
        let pids = Controllers {
            pids: true,
            ..Controllers::default()
        };
        assert!(cpu_and_usage.intersects(usage));
        assert!(!cpu_and_usage.intersects(pids));
        assert!(!Controllers::default().intersects(Controllers::default()));
    }

    #[test]
    fn v2_controllers_are_read_from_the_controllers_file() {
        let listed = Controllers::v2("cpuset cpu io memory hugetlb pids");
        assert_eq!(listed.v2_enable_line(), "+memory +cpu +pids");
        let without_pids = Controllers::v2("cpu memory");
        assert!(!without_pids.pids && without_pids.cpu_usage);
        assert_eq!(without_pids.v2_enable_line(), "+memory +cpu");
    }
}
