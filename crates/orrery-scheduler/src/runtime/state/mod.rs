//! The scheduler's hot state, free of I/O: the worker fleet, the active runs, the
//! schedules and the effects decided but not yet carried out. Its methods take `now`
//! and record effects; the driver commits them in one transaction and then sends.

mod effects;
mod fleet;
mod reports;
mod runs;
mod schedules;

pub(crate) use effects::{AcceptedLogs, Effects, RejectedReport};
pub(crate) use fleet::Fleet;
pub(crate) use runs::ActiveRuns;
pub(crate) use schedules::Schedules;

use super::handle::SchedulerConfig;

/// Everything the scheduler decides from, split by concern.
pub(crate) struct SchedulerState {
    pub(crate) config: SchedulerConfig,
    pub(crate) fleet: Fleet,
    pub(crate) runs: ActiveRuns,
    pub(crate) schedules: Schedules,
    pub(crate) pending: Effects,
}

impl SchedulerState {
    /// An empty state; `first_fence` must exceed every fence issued before (the driver
    /// derives it from the clock so fences keep increasing across restarts).
    pub(crate) fn new(config: SchedulerConfig, first_fence: u64) -> Self {
        Self {
            config,
            fleet: Fleet::new(first_fence),
            runs: ActiveRuns::default(),
            schedules: Schedules::default(),
            pending: Effects::default(),
        }
    }
}
