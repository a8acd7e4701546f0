//! `Limits`: what an attempt's cgroup enforces, and the files that say so.

use super::layout::{CgroupVersion, Controller, Controllers};
use orrery_proto::Resources;
use std::num::{NonZeroU32, NonZeroU64};

/// The CPU quota is given per period of 100 ms.
const CPU_PERIOD_MICROS: u64 = 100_000;
/// The kernel refuses quotas below 1 ms per period.
const MIN_CPU_QUOTA_MICROS: u64 = 1_000;

/// An attempt's limits; a zero in the assignment or the configuration means none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) memory_bytes: Option<NonZeroU64>,
    pub(crate) cpu_millis: Option<NonZeroU32>,
    pub(crate) pids: Option<NonZeroU32>,
}

impl Limits {
    pub(crate) fn new(resources: &Resources, pids_limit: u32) -> Self {
        Self {
            memory_bytes: resources.memory_bytes.and_then(NonZeroU64::new),
            cpu_millis: resources.cpu_millis.and_then(NonZeroU32::new),
            pids: NonZeroU32::new(pids_limit),
        }
    }

    /// The controllers an attempt with these limits needs a group in: memory (its limit,
    /// peak and OOM kills) and CPU usage always, for the measurement; the CPU quota
    /// and the process count only when limited. Every group made and joined costs the
    /// attempt (in v1 a `cpu` group alone about doubled the cost of a `true` task), so
    /// the others are left out and the attempt stays in the worker's group there.
    pub(crate) fn needed_controllers(&self) -> Controllers {
        Controllers {
            memory: true,
            cpu: self.cpu_millis.is_some(),
            cpu_usage: true,
            pids: self.pids.is_some(),
        }
    }

    /// Whether the assignment asked for a limit the worker must not silently drop.
    pub(crate) fn requested_by_task(&self) -> bool {
        self.memory_bytes.is_some() || self.cpu_millis.is_some()
    }
}

/// One value written into an attempt's group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LimitWrite {
    /// The controller whose hierarchy holds the file.
    pub(super) controller: Controller,
    pub(super) file: &'static str,
    pub(super) value: String,
    /// Optional files are skipped where the kernel does not have them (swap accounting
    /// off, an older kernel); a missing required one is an error.
    pub(super) required: bool,
}

/// The writes enforcing `limits`, in order (in v1 the memory limit must be set before
/// the memory+swap limit, which may not be below it).
pub(super) fn limit_writes(version: CgroupVersion, limits: &Limits) -> Vec<LimitWrite> {
    let (memory, cpu, pids) = (Controller::Memory, Controller::Cpu, Controller::Pids);
    let write = |controller, file, value: String, required| LimitWrite {
        controller,
        file,
        value,
        required,
    };
    let mut writes = Vec::new();
    if let Some(bytes) = limits.memory_bytes {
        let bytes = bytes.to_string();
        match version {
            CgroupVersion::V2 => {
                writes.push(write(memory, "memory.max", bytes, true));
                // Swap would let the task use more than its limit.
                writes.push(write(memory, "memory.swap.max", "0".to_owned(), false));
                // One OOM kill takes the whole attempt, not a random part of it.
                writes.push(write(memory, "memory.oom.group", "1".to_owned(), false));
            }
            CgroupVersion::V1 => {
                writes.push(write(memory, "memory.limit_in_bytes", bytes.clone(), true));
                writes.push(write(memory, "memory.memsw.limit_in_bytes", bytes, false));
            }
        }
    }
    if let Some(millis) = limits.cpu_millis {
        let quota = (u64::from(millis.get()) * CPU_PERIOD_MICROS / 1000).max(MIN_CPU_QUOTA_MICROS);
        match version {
            CgroupVersion::V2 => {
                writes.push(write(
                    cpu,
                    "cpu.max",
                    format!("{quota} {CPU_PERIOD_MICROS}"),
                    true,
                ));
            }
            CgroupVersion::V1 => {
                writes.push(write(
                    cpu,
                    "cpu.cfs_period_us",
                    CPU_PERIOD_MICROS.to_string(),
                    true,
                ));
                writes.push(write(cpu, "cpu.cfs_quota_us", quota.to_string(), true));
            }
        }
    }
    if let Some(max) = limits.pids {
        writes.push(write(pids, "pids.max", max.to_string(), true));
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(version: CgroupVersion, limits: &Limits) -> Vec<(&'static str, String, bool)> {
        limit_writes(version, limits)
            .into_iter()
            .map(|write| (write.file, write.value, write.required))
            .collect()
    }

    fn all_limits() -> Limits {
        Limits::new(
            &Resources {
                cpu_millis: Some(500),
                memory_bytes: Some(64 << 20),
                gpus: 0,
            },
            4096,
        )
    }

    #[test]
    fn v2_limits_are_memory_max_without_swap_cpu_max_and_pids_max() {
        let expected = [
            ("memory.max", "67108864", true),
            ("memory.swap.max", "0", false),
            ("memory.oom.group", "1", false),
            ("cpu.max", "50000 100000", true),
            ("pids.max", "4096", true),
        ]
        .map(|(file, value, required)| (file, value.to_owned(), required));
        assert_eq!(files(CgroupVersion::V2, &all_limits()), expected);
    }

    #[test]
    fn v1_limits_cover_memory_and_swap_the_cfs_quota_and_pids() {
        let expected = [
            ("memory.limit_in_bytes", "67108864", true),
            ("memory.memsw.limit_in_bytes", "67108864", false),
            ("cpu.cfs_period_us", "100000", true),
            ("cpu.cfs_quota_us", "50000", true),
            ("pids.max", "4096", true),
        ]
        .map(|(file, value, required)| (file, value.to_owned(), required));
        assert_eq!(files(CgroupVersion::V1, &all_limits()), expected);
    }

    #[test]
    fn the_cpu_and_pids_groups_are_needed_only_with_their_limits() {
        let needed = all_limits().needed_controllers();
        assert!(needed.memory && needed.cpu && needed.cpu_usage && needed.pids);
        let default_pids = Limits::new(&Resources::default(), 4096).needed_controllers();
        assert!(default_pids.memory && default_pids.cpu_usage && default_pids.pids);
        assert!(!default_pids.cpu);
        let none = Limits::default().needed_controllers();
        assert!(none.memory && none.cpu_usage && !none.cpu && !none.pids);
    }

    #[test]
    fn zeros_mean_no_limit_and_tiny_cpu_gets_the_kernel_minimum() {
        let none = Limits::new(
            &Resources {
                cpu_millis: Some(0),
                memory_bytes: Some(0),
                gpus: 0,
            },
            0,
        );
        assert_eq!(none, Limits::default());
        assert!(!none.requested_by_task());
        assert!(files(CgroupVersion::V2, &none).is_empty());

        let tiny = Limits::new(
            &Resources {
                cpu_millis: Some(1),
                ..Resources::default()
            },
            0,
        );
        assert_eq!(
            files(CgroupVersion::V2, &tiny),
            [("cpu.max", "1000 100000".to_owned(), true)]
        );
    }
}
