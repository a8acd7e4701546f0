//! Runs handed over by this process's API: a run the API just stored is given to the
//! driver with its spec and attempt ids, so it starts without the driver reading it
//! back. Only a hint: every run is also read from the store by the next sync, and a
//! run the driver has already read (or that ended) is never taken from here.

use orrery_core::ids::TaskInstanceId;
use orrery_core::spec::JobSpec;
use orrery_store::records::RunRecord;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Most runs waiting to be taken; beyond, hand-overs are refused (the API then wakes
/// the driver to read them from the store).
const MAX_WAITING: usize = 10_000;

/// A run just stored by this process's API.
#[derive(Clone, Debug)]
pub struct HandedRun {
    pub record: RunRecord,
    pub spec: Arc<JobSpec>,
    /// Its first attempts' ids, in task order.
    pub task_ids: Vec<TaskInstanceId>,
}

/// Runs waiting for the driver, and the signal that some arrived.
#[derive(Debug, Default)]
pub(crate) struct Handoff {
    waiting: Mutex<Vec<HandedRun>>,
    pub(crate) arrived: Notify,
}

impl Handoff {
    /// Queues a run for the driver; false when too many wait already.
    pub(crate) fn push(&self, run: HandedRun) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if waiting.len() >= MAX_WAITING {
            return false;
        }
        waiting.push(run);
        drop(waiting);
        self.arrived.notify_one();
        true
    }

    /// Every run waiting, oldest first.
    pub(crate) fn take(&self) -> Vec<HandedRun> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
