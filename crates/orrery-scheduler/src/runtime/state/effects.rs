//! Effects the state decided and the driver has yet to carry out: changes to commit,
//! messages to send once they are committed, log lines to store, runs to create.

use super::active_run::Slot;
use super::dispatch::PendingAssignment;
use super::render::AssignmentInputs;
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_proto::{SchedulerMessage, TaskRef};
use orrery_store::records::{NewLogLine, TaskRecord};
use orrery_store::{NewAlertEvent, RunUpdate};
use std::collections::BTreeSet;

/// A report about an attempt that was no longer the worker's to report on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RejectedReport {
    pub(crate) worker: String,
    pub(crate) task: TaskRef,
    pub(crate) what: &'static str,
}

/// Lines a current attempt sent, for the log writer.
#[derive(Clone, Debug)]
pub(crate) struct AcceptedLogs {
    pub(crate) run_id: RunId,
    pub(crate) task_instance_id: TaskInstanceId,
    pub(crate) task_name: String,
    pub(crate) attempt: u32,
    pub(crate) lines: Vec<NewLogLine>,
}

/// Pending effects, drained by the driver.
#[derive(Default)]
pub(crate) struct Effects {
    /// Latest attempts changed since the last commit.
    pub(crate) dirty: BTreeSet<(RunId, Slot)>,
    /// Earlier attempts replaced by a retry, final, awaiting commit.
    pub(crate) retired: Vec<TaskRecord>,
    pub(crate) run_updates: Vec<RunUpdate>,
    /// Alert events raised by these changes, stored with them.
    pub(crate) alerts: Vec<NewAlertEvent>,
    /// Messages to workers (by session) to send once the changes they announce are
    /// committed.
    pub(crate) outbox: Vec<(u64, SchedulerMessage)>,
    /// Placed tasks whose assignments await rendering.
    pub(crate) to_render: Vec<(PendingAssignment, AssignmentInputs)>,
    /// Sub-workflow tasks to start as child runs.
    pub(crate) children_to_start: Vec<(RunId, usize)>,
    /// Fires created runs that the driver has not taken up yet.
    pub(crate) new_runs_pending: bool,
    /// Log lines accepted since they were last handed to the log writer.
    pub(crate) logs: Vec<AcceptedLogs>,
    /// Reports rejected since they were last recorded.
    pub(crate) rejected: Vec<RejectedReport>,
    /// Links of workers declared lost, to close.
    pub(crate) dropped_links: Vec<u64>,
    /// Sessions whose registration is to be written.
    pub(crate) registered: Vec<u64>,
}

impl Effects {
    /// Whether anything awaits a commit.
    pub(crate) fn has_changes(&self) -> bool {
        !(self.dirty.is_empty()
            && self.retired.is_empty()
            && self.run_updates.is_empty()
            && self.alerts.is_empty())
    }
}
