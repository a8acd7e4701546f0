//! The in-memory timer of one scheduled job.

use crate::engine::{Concurrency, Misfire};
use chrono::{DateTime, Utc};
use orrery_core::schedule::{CompiledSchedule, ConcurrencyPolicy, MisfirePolicy, ScheduleSpec};
use orrery_core::spec::JobSpec;

/// A scheduled job as the driver keeps it between fires.
pub(crate) struct JobTrigger {
    pub(crate) version: u32,
    pub(crate) spec: JobSpec,
    pub(crate) schedule: CompiledSchedule,
    pub(crate) misfire: Misfire,
    pub(crate) exclude: Vec<String>,
    pub(crate) paused: bool,
    /// `None` once the schedule has no more fires.
    pub(crate) next_fire_at: Option<DateTime<Utc>>,
}

/// The engine's view of a spec's misfire policy.
pub(crate) fn misfire_of(schedule: &ScheduleSpec) -> Misfire {
    match schedule.misfire {
        MisfirePolicy::Skip => Misfire::Skip,
        MisfirePolicy::RunOnce => Misfire::RunOnce,
        MisfirePolicy::RunAll => Misfire::RunAll {
            max_catchup: schedule.max_catchup.get(),
        },
    }
}

/// The engine's view of a job's concurrency policy; jobs without a schedule allow
/// any number of runs.
pub(crate) fn concurrency_of(spec: &JobSpec) -> (Concurrency, u32) {
    match &spec.schedule {
        None => (Concurrency::Allow, u32::MAX),
        Some(schedule) => {
            let policy = match schedule.concurrency {
                ConcurrencyPolicy::Allow => Concurrency::Allow,
                ConcurrencyPolicy::Forbid => Concurrency::Forbid,
                ConcurrencyPolicy::Replace => Concurrency::Replace,
                ConcurrencyPolicy::Queue => Concurrency::Queue,
            };
            (policy, schedule.max_active_runs.get())
        }
    }
}
