//! The embedded worker's link: in-process channels to the scheduler of this process.

use orrery_scheduler::SchedulerHandle;
use orrery_worker::{Connector, WorkerError, WorkerLink};
use tokio::sync::mpsc;

/// Opens in-process links to the local scheduler.
pub(crate) struct EmbeddedConnector {
    scheduler: SchedulerHandle,
}

impl EmbeddedConnector {
    pub(crate) fn new(scheduler: SchedulerHandle) -> Self {
        Self { scheduler }
    }
}

impl Connector for EmbeddedConnector {
    async fn connect(&mut self) -> Result<WorkerLink, WorkerError> {
        let (outbound, mut from_scheduler) = self.scheduler.connect_worker();
        // The scheduler never blocks on a worker (unbounded toward it); the worker reads
        // a bounded channel like a remote worker's stream, so bridge the two.
        let (to_worker, inbound) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(message) = from_scheduler.recv().await {
                if to_worker.send(message).await.is_err() {
                    return;
                }
            }
        });
        Ok(WorkerLink { outbound, inbound })
    }
}
