//! Reading where cgroup hierarchies are mounted (`/proc/self/mountinfo`) and which group
//! the worker is in within each (`/proc/self/cgroup`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// A mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CgroupMount {
    /// The group of the hierarchy shown at the mount point (`/` unless the mount is a
    /// bind mount of a subtree).
    pub(super) root: String,
    pub(super) mount_point: PathBuf,
    pub(super) kind: MountKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum MountKind {
    /// The unified hierarchy (cgroup v2).
    Unified,
    /// A v1 hierarchy with the controllers bound to it (`memory`, or `cpu,cpuacct`).
    Legacy { controllers: Vec<String> },
}

/// The worker's groups: per v1 controller, and in the unified hierarchy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct OwnGroups {
    pub(super) unified: Option<String>,
    pub(super) by_controller: BTreeMap<String, String>,
}

/// The cgroup mounts listed in mountinfo text; other lines are skipped.
pub(super) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

/// `36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory`:
/// root and mount point are fields 4 and 5; after the `-` come the file system type,
/// the source and the super options, which name a v1 hierarchy's controllers.
fn parse_mountinfo_line(line: &str) -> Option<CgroupMount> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let separator = fields.iter().position(|field| *field == "-")?;
    let root = unescape(fields.get(3)?);
    let mount_point = PathBuf::from(unescape(fields.get(4)?));
    let fs_type = *fields.get(separator + 1)?;
    let kind = match fs_type {
        "cgroup2" => MountKind::Unified,
        "cgroup" => {
            let super_options = fields.get(separator + 3).copied().unwrap_or_default();
            let controllers = super_options
                .split(',')
                .filter(|option| !option.contains('=') && !matches!(*option, "rw" | "ro"))
                .map(str::to_owned)
                .collect();
            MountKind::Legacy { controllers }
        }
        _ => return None,
    };
    Some(CgroupMount {
        root,
        mount_point,
        kind,
    })
}

/// Mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut unescaped = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let octal = bytes
            .get(index + 1..index + 4)
            .filter(|digits| {
                bytes[index] == b'\\' && digits.iter().all(|d| (b'0'..=b'7').contains(d))
            })
            .and_then(|digits| u8::from_str_radix(std::str::from_utf8(digits).ok()?, 8).ok());
        match octal {
            Some(byte) => {
                unescaped.push(byte);
                index += 4;
            }
            None => {
                unescaped.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&unescaped).into_owned()
}

/// `/proc/self/cgroup` text: `4:memory:/a/b` per v1 hierarchy, `0::/a/b` for v2.
pub(super) fn parse_proc_cgroup(text: &str) -> OwnGroups {
    let mut own = OwnGroups::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            own.unified = Some(path.to_owned());
            continue;
        }
        for controller in controllers.split(',').filter(|name| !name.contains('=')) {
            own.by_controller
                .insert(controller.to_owned(), path.to_owned());
        }
    }
    own
}

/// Where `group` (a path in the hierarchy) is on disk under `mount`, if the mount shows it.
pub(super) fn group_dir(mount: &CgroupMount, group: &str) -> Option<PathBuf> {
    let relative = Path::new(group).strip_prefix(&mount.root).ok()?;
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return None;
    }
    Some(mount.mount_point.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 30 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
36 1 0:32 /sub /mnt/my\\040groups ro - cgroup cgroup ro,pids";

    #[test]
    fn cgroup_mounts_are_found_with_their_controllers() {
        let mounts = parse_mountinfo(HYBRID_MOUNTINFO);
        let summary: Vec<(String, String, String)> = mounts
            .iter()
            .map(|mount| {
                let kind = match &mount.kind {
                    MountKind::Unified => "v2".to_owned(),
                    MountKind::Legacy { controllers } => controllers.join(","),
                };
                (
                    mount.root.clone(),
                    mount.mount_point.display().to_string(),
                    kind,
                )
            })
            .collect();
        let expected = [
            ("/", "/sys/fs/cgroup/cpu", "cpu"),
            ("/", "/sys/fs/cgroup/memory", "memory"),
            ("/", "/sys/fs/cgroup/systemd", ""),
            ("/", "/sys/fs/cgroup/cpu,cpuacct", "cpu,cpuacct"),
            ("/", "/sys/fs/cgroup/unified", "v2"),
            ("/sub", "/mnt/my groups", "pids"),
        ]
        .map(|(root, point, kind)| (root.to_owned(), point.to_owned(), kind.to_owned()));
        assert_eq!(summary, expected);
    }

    #[test]
    fn own_groups_are_read_per_controller_and_for_the_unified_hierarchy() {
        let own = parse_proc_cgroup(
            "9:name=systemd:/\n4:memory:/jobs/a:b\n2:cpu,cpuacct:/\n0::/init.scope\n",
        );
        assert_eq!(own.unified.as_deref(), Some("/init.scope"));
        let by_controller: Vec<(&str, &str)> = own
            .by_controller
            .iter()
            .map(|(controller, path)| (controller.as_str(), path.as_str()))
            .collect();
        assert_eq!(
            by_controller,
            [("cpu", "/"), ("cpuacct", "/"), ("memory", "/jobs/a:b")]
        );
    }

    #[test]
    fn a_group_is_found_under_its_mount_only_when_the_mount_shows_it() {
        let mount = |root: &str| CgroupMount {
            root: root.to_owned(),
            mount_point: "/sys/fs/cgroup/memory".into(),
            kind: MountKind::Legacy {
                controllers: vec!["memory".to_owned()],
            },
        };
        let check = |root: &str, group: &str, expected: Option<&str>| {
            assert_eq!(
                group_dir(&mount(root), group),
                expected.map(PathBuf::from),
                "{group} under a mount of {root}"
            );
        };
        check("/", "/", Some("/sys/fs/cgroup/memory"));
        check("/", "/jobs/a", Some("/sys/fs/cgroup/memory/jobs/a"));
        check("/jobs", "/jobs/a", Some("/sys/fs/cgroup/memory/a"));
        check("/jobs", "/other", None);
        check("/", "/jobs/../etc", None);
    }
}
