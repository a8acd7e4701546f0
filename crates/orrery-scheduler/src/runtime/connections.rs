//! Connected workers as the driver sees them.

use orrery_core::ids::TaskInstanceId;
use orrery_proto::SchedulerMessage;
use std::collections::HashSet;
use tokio::sync::mpsc;

/// One worker connection.
pub(crate) struct Connection {
    pub(crate) to_worker: mpsc::UnboundedSender<SchedulerMessage>,
    /// Set once the worker registered.
    pub(crate) name: Option<String>,
    pub(crate) slots: u32,
    /// Attempts assigned to this worker and not yet finished. Free capacity is
    /// computed from this rather than from the worker's credit reports, which can be
    /// stale while assignments are in flight.
    pub(crate) outstanding: HashSet<TaskInstanceId>,
}

impl Connection {
    pub(crate) fn new(to_worker: mpsc::UnboundedSender<SchedulerMessage>) -> Self {
        Self {
            to_worker,
            name: None,
            slots: 0,
            outstanding: HashSet::new(),
        }
    }

    /// Slots this worker can still take.
    pub(crate) fn free_slots(&self) -> u32 {
        if self.name.is_none() {
            return 0;
        }
        self.slots
            .saturating_sub(u32::try_from(self.outstanding.len()).unwrap_or(u32::MAX))
    }

    /// Sends without waiting; a closed connection is noticed by its reader task.
    pub(crate) fn send(&self, message: SchedulerMessage) {
        let _ = self.to_worker.send(message);
    }
}
