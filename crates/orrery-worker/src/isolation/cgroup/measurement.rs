//! `Measurement`: what an attempt's cgroup says it used, read once the attempt ended.

use super::layout::{CgroupVersion, Controller};
use std::time::Duration;

/// Usage of the whole process tree of an attempt; `None` where the kernel does not tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Measurement {
    /// The memory limit the group enforced.
    pub(crate) memory_limit_bytes: Option<u64>,
    pub(crate) cpu_time: Option<Duration>,
    pub(crate) peak_memory_bytes: Option<u64>,
    pub(crate) oom: OomEvidence,
}

/// Whether the attempt ran out of memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OomEvidence {
    #[default]
    NotSeen,
    /// The kernel's OOM killer killed a process of the group.
    Killed,
    /// The group hit its memory limit on a kernel that does not count OOM kills (v1
    /// before 4.13): a process that then died by SIGKILL was most likely OOM-killed.
    LimitHit,
}

/// Reads the measurement through `read(controller, file)`, which gives the text of a
/// file of the attempt's group in the hierarchy of that controller. The limit is the
/// caller's to fill in: it knows what it set.
pub(super) fn measure(
    version: CgroupVersion,
    read: impl Fn(Controller, &'static str) -> Option<String>,
) -> Measurement {
    match version {
        CgroupVersion::V2 => Measurement {
            memory_limit_bytes: None,
            cpu_time: read(Controller::CpuUsage, "cpu.stat")
                .and_then(|text| keyed_value(&text, "usage_usec"))
                .map(Duration::from_micros),
            peak_memory_bytes: read(Controller::Memory, "memory.peak")
                .and_then(|text| single_value(&text)),
            oom: match read(Controller::Memory, "memory.events")
                .and_then(|text| keyed_value(&text, "oom_kill"))
            {
                Some(kills) if kills > 0 => OomEvidence::Killed,
                _ => OomEvidence::NotSeen,
            },
        },
        CgroupVersion::V1 => Measurement {
            memory_limit_bytes: None,
            cpu_time: read(Controller::CpuUsage, "cpuacct.usage")
                .and_then(|text| single_value(&text))
                .map(Duration::from_nanos),
            peak_memory_bytes: read(Controller::Memory, "memory.max_usage_in_bytes")
                .and_then(|text| single_value(&text)),
            oom: v1_oom(&read),
        },
    }
}

fn v1_oom(read: &impl Fn(Controller, &'static str) -> Option<String>) -> OomEvidence {
    let oom_kills = read(Controller::Memory, "memory.oom_control")
        .and_then(|text| keyed_value(&text, "oom_kill"));
    match oom_kills {
        Some(kills) if kills > 0 => OomEvidence::Killed,
        Some(_) => OomEvidence::NotSeen,
        None => {
            match read(Controller::Memory, "memory.failcnt").and_then(|text| single_value(&text)) {
                Some(failures) if failures > 0 => OomEvidence::LimitHit,
                _ => OomEvidence::NotSeen,
            }
        }
    }
}

/// The number after `key` in `key value` lines.
fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

/// A file holding one number.
fn single_value(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn measure_files(version: CgroupVersion, files: &[(&'static str, &str)]) -> Measurement {
        let files: BTreeMap<&str, String> = files
            .iter()
            .map(|(name, text)| (*name, (*text).to_owned()))
            .collect();
        measure(version, |_, file| files.get(file).cloned())
    }

    #[test]
    fn v2_usage_comes_from_cpu_stat_memory_peak_and_memory_events() {
        let measured = measure_files(
            CgroupVersion::V2,
            &[
                (
                    "cpu.stat",
                    "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
                ),
                ("memory.peak", "67108864\n"),
                (
                    "memory.events",
                    "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
                ),
            ],
        );
        assert_eq!(
            measured,
            Measurement {
                memory_limit_bytes: None,
                cpu_time: Some(Duration::from_millis(1500)),
                peak_memory_bytes: Some(64 << 20),
                oom: OomEvidence::Killed,
            }
        );
        let old_kernel = measure_files(
            CgroupVersion::V2,
            &[("memory.events", "oom 0\noom_kill 0\n")],
        );
        assert_eq!(old_kernel, Measurement::default());
    }

    #[test]
    fn v1_usage_comes_from_cpuacct_and_the_memory_files() {
        let measured = measure_files(
            CgroupVersion::V1,
            &[
                ("cpuacct.usage", "2500000000\n"),
                ("memory.max_usage_in_bytes", "1048576\n"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
                ),
                ("memory.failcnt", "3\n"),
            ],
        );
        assert_eq!(
            measured,
            Measurement {
                memory_limit_bytes: None,
                cpu_time: Some(Duration::from_millis(2500)),
                peak_memory_bytes: Some(1 << 20),
                oom: OomEvidence::NotSeen,
            }
        );
        let killed = measure_files(
            CgroupVersion::V1,
            &[("memory.oom_control", "under_oom 0\noom_kill 2\n")],
        );
        assert_eq!(killed.oom, OomEvidence::Killed);
        let old_kernel = measure_files(
            CgroupVersion::V1,
            &[
                ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n"),
                ("memory.failcnt", "3\n"),
            ],
        );
        assert_eq!(old_kernel.oom, OomEvidence::LimitHit);
    }
}
