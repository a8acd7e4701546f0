//! The schedules: every scheduled job's trigger and the timer wheels of armed fires.

use super::job_trigger::JobTrigger;
use crate::engine::TimerWheel;
use orrery_core::ids::JobId;
use std::collections::HashMap;

/// Scheduled jobs and their armed fires.
#[derive(Default)]
pub(crate) struct Schedules {
    /// Scheduled jobs by id.
    pub(crate) triggers: HashMap<JobId, JobTrigger>,
    /// The (version, paused) of every job last synced, scheduled or not.
    pub(crate) synced_jobs: HashMap<JobId, (u32, bool)>,
    /// The jobs' change count when `synced_jobs` was last brought up to date; a poll
    /// that reads the same count has nothing to scan.
    pub(crate) jobs_synced_at: Option<i64>,
    /// Whether the stored timers were armed in bulk at start.
    pub(crate) stored_timers_armed: bool,
    /// Armed fires ordered by time: the timer wheel.
    pub(crate) wheel: TimerWheel<JobId>,
    /// Armed fires made ahead of their time (concurrency `allow`), at their fire time
    /// less the lead; popped a batch window early so nearby fires share a pass.
    pub(crate) lead_wheel: TimerWheel<JobId>,
    /// Open SLA deadlines of recent fires.
    pub(crate) slas: super::sla::SlaWatches,
    /// Whether this term has watched again the fires recorded before it began.
    pub(crate) slas_loaded: bool,
}
