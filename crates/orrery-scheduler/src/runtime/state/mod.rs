//! The scheduler's hot state, free of I/O: the worker fleet, the active runs, the
//! schedules and the effects decided but not yet carried out. Its methods take `now`
//! and record effects; the driver commits them in one transaction and then sends.

pub(crate) mod active_run;
pub(crate) mod advance;
mod alerts;
pub(crate) mod children;
pub(crate) mod dispatch;
mod effects;
pub(crate) mod fanout;
pub(crate) mod fires;
mod fleet;
pub(crate) mod job_trigger;
mod liveness;
pub(crate) mod ready_queue;
pub(crate) mod render;
mod reports;
pub(crate) mod run_control;
pub(crate) mod run_index;
mod runs;
mod schedules;
pub(crate) mod session;
pub(crate) mod sla;
pub(crate) mod take_up;
mod timers;

pub(crate) use effects::{AcceptedLogs, Effects, RejectedReport};
pub(crate) use fleet::Fleet;
pub(crate) use runs::ActiveRuns;
pub(crate) use schedules::Schedules;

use self::active_run::Slot;
use crate::runtime::handle::SchedulerConfig;
use orrery_core::ids::RunId;

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

impl SchedulerState {
    pub(crate) fn render_options(&self) -> self::render::RenderOptions {
        self::render::RenderOptions {
            default_timezone: self.config.default_timezone,
            python_interpreter: self.config.python_interpreter.clone(),
            max_http_body_bytes: self.config.max_http_body_bytes,
        }
    }

    /// Queues `slot` of run `id` for dispatch at its task's priority.
    pub(crate) fn make_ready_slot(&mut self, id: RunId, slot: Slot) {
        let priority = self
            .runs
            .map
            .get(&id)
            .and_then(|run| run.spec.tasks.get(slot.idx))
            .map_or(0, |task| task.priority);
        self.runs.ready.push(id, slot, priority);
    }

    /// Whether a changed attempt has no id yet (it was never inserted).
    pub(crate) fn has_unsaved_attempts(&self) -> bool {
        self.pending.dirty.iter().any(|(run_id, slot)| {
            self.runs
                .record(*run_id, *slot)
                .is_some_and(|task| task.id.is_none())
        })
    }

    /// Touches the runs with a retry, deadline or fire time due by `now` (and lets the
    /// waiting ones be reconsidered); returns them.
    pub(crate) fn take_due_alarms(&mut self, now: chrono::DateTime<chrono::Utc>) -> Vec<RunId> {
        let due = self.runs.index.take_due_alarms(now);
        for id in &due {
            if let Some(run) = self.runs.map.get(id) {
                self.runs.touched.insert(*id);
                if run.record.state == orrery_core::state::RunState::Queued {
                    self.runs
                        .index
                        .reconsider(self::run_index::PaceKey::of(&run.record));
                }
            }
        }
        due
    }
}

#[cfg(test)]
mod tests;
