//! The in-memory timer of one scheduled job.

use crate::engine::{Concurrency, Misfire};
use chrono::{DateTime, Utc};
use orrery_core::schedule::{
    CompiledSchedule, ConcurrencyPolicy, MisfirePolicy, ScheduleError, ScheduleSpec, compile,
};
use orrery_core::spec::JobSpec;

/// A scheduled job as the driver keeps it between fires.
pub(crate) struct JobTrigger {
    pub(crate) version: u32,
    pub(crate) spec: JobSpec,
    /// The compiled schedule, kept only while the job fires often (see
    /// [`KEEP_COMPILED_WITHIN`]): a compiled cron takes several KiB, and a daily job
    /// needs it once a day.
    pub(crate) compiled: Option<CompiledSchedule>,
    pub(crate) schedule_spec: ScheduleSpec,
    pub(crate) misfire: Misfire,
    pub(crate) exclude: Vec<String>,
    pub(crate) paused: bool,
    /// `None` once the schedule has no more fires.
    pub(crate) next_fire_at: Option<DateTime<Utc>>,
}

/// A job whose next fire is closer than this keeps its compiled schedule.
pub(crate) const KEEP_COMPILED_WITHIN: chrono::Duration = chrono::Duration::minutes(5);

impl JobTrigger {
    /// The compiled schedule, compiled again if it was let go.
    pub(crate) fn schedule(
        &mut self,
        default_tz: chrono_tz::Tz,
    ) -> Result<&CompiledSchedule, ScheduleError> {
        if self.compiled.is_none() {
            self.compiled = Some(compile(&self.schedule_spec, default_tz)?);
        }
        self.compiled
            .as_ref()
            .ok_or_else(|| ScheduleError::Invalid {
                path: "schedule",
                message: "not compiled".to_owned(),
            })
    }

    /// Keeps the compiled schedule only if the next fire is near.
    pub(crate) fn trim(&mut self, now: chrono::DateTime<chrono::Utc>) {
        if self
            .next_fire_at
            .is_none_or(|at| at - now > KEEP_COMPILED_WITHIN)
        {
            self.compiled = None;
        }
    }
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
