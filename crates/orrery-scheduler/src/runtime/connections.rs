//! Worker links as the driver sees them: a *link* is one connection (an in-process
//! channel pair or a gRPC stream), carrying messages to the worker; the worker's
//! session (`state::session`) outlives its links.

use orrery_proto::SchedulerMessage;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use tokio::sync::mpsc;

/// One connection from a worker.
pub(crate) struct Link {
    pub(crate) to_worker: mpsc::UnboundedSender<SchedulerMessage>,
    /// The session this link serves, once the worker registered on it.
    pub(crate) session: Option<u64>,
    /// When the link's reader last received anything (µs since the epoch), set as
    /// messages arrive rather than when the driver gets to them: a driver busy with a
    /// large commit must not mistake its own backlog for silent workers.
    pub(crate) last_heard: Arc<AtomicI64>,
}

impl Link {
    /// Sends without waiting; a closed link is noticed by its reader task.
    pub(crate) fn send(&self, message: SchedulerMessage) {
        let _ = self.to_worker.send(message);
    }
}
