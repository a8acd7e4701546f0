//! The in-memory timer of one scheduled job.

use crate::engine::{Concurrency, Misfire};
use chrono::{DateTime, Utc};
use orrery_core::schedule::{
    CompiledSchedule, ConcurrencyPolicy, MisfirePolicy, ScheduleError, ScheduleSpec, compile,
};
use orrery_core::spec::JobSpec;
use std::sync::Arc;

/// A scheduled job as the driver keeps it between fires.
///
/// Compact on purpose: most of 100,000 daily jobs are hours from their next fire, so a
/// trigger then holds only its version, pause flag and next fire time. The parsed spec
/// (and the compiled schedule, several KiB) are loaded when the fire comes near (see
/// [`KEEP_LOADED_WITHIN`]) and let go after it.
pub(crate) struct JobTrigger {
    pub(crate) version: u32,
    pub(crate) paused: bool,
    /// `None` once the schedule has no more fires. While paused it stays at the first
    /// fire not run, so that resuming applies the misfire policy from there.
    pub(crate) next_fire_at: Option<DateTime<Utc>>,
    /// While paused: the next fire to record as `paused` in the ledger when it comes
    /// due (fires are recorded as they come, not only at resume).
    pub(crate) paused_next_record: Option<DateTime<Utc>>,
    /// The job's spec at `version`, while the next fire is near; shared with the runs
    /// it creates.
    pub(crate) spec: Option<Arc<JobSpec>>,
    /// Boxed: an absent schedule then costs a pointer, not the schedule's inline size.
    pub(crate) compiled: Option<Box<CompiledSchedule>>,
}

/// A job whose next fire is closer than this keeps its spec and compiled schedule.
pub(crate) const KEEP_LOADED_WITHIN: chrono::Duration = chrono::Duration::minutes(5);

impl JobTrigger {
    /// The spec's schedule, if the spec is loaded and has one.
    pub(crate) fn schedule_spec(&self) -> Option<&ScheduleSpec> {
        self.spec.as_ref().and_then(|spec| spec.schedule.as_ref())
    }

    /// The compiled schedule, compiled again if it was let go; needs the spec loaded.
    pub(crate) fn schedule(
        &mut self,
        default_tz: chrono_tz::Tz,
    ) -> Result<&CompiledSchedule, ScheduleError> {
        if self.compiled.is_none() {
            let spec = self.schedule_spec().ok_or_else(|| ScheduleError::Invalid {
                path: "schedule",
                message: "the job's spec is not loaded or has no schedule".to_owned(),
            })?;
            self.compiled = Some(Box::new(compile(spec, default_tz)?));
        }
        self.compiled
            .as_deref()
            .ok_or_else(|| ScheduleError::Invalid {
                path: "schedule",
                message: "not compiled".to_owned(),
            })
    }

    /// The misfire policy; `run_once` (the default) while the spec is not loaded.
    pub(crate) fn misfire(&self) -> Misfire {
        self.schedule_spec().map_or(Misfire::RunOnce, misfire_of)
    }

    /// How late a fire may be and still run as usual: the schedule's own
    /// `misfire_threshold`, else the server's.
    pub(crate) fn misfire_threshold(&self, server_default: chrono::Duration) -> chrono::Duration {
        self.schedule_spec()
            .and_then(|s| s.misfire_threshold)
            .and_then(|t| chrono::Duration::from_std(t.0).ok())
            .unwrap_or(server_default)
    }

    /// Whether fires may be made ahead of their time (see `SchedulerConfig::fire_lead`):
    /// only under concurrency `allow`, whose decision does not depend on what else is
    /// running at the fire instant, and only once the spec is loaded to tell.
    pub(crate) fn leads(&self) -> bool {
        self.spec
            .as_deref()
            .is_some_and(|spec| concurrency_of(spec).0 == Concurrency::Allow)
    }

    /// Whether the next fire is near enough to keep the spec loaded.
    pub(crate) fn fires_soon(&self, now: DateTime<Utc>) -> bool {
        self.next_fire_at
            .is_some_and(|at| at - now <= KEEP_LOADED_WITHIN)
    }

    /// Lets the spec and compiled schedule go unless the next fire is near.
    pub(crate) fn trim(&mut self, now: DateTime<Utc>) {
        if !self.fires_soon(now) {
            self.compiled = None;
            self.spec = None;
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
