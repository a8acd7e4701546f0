//! `WorkerLink`: the two channels that connect a worker to its scheduler.

use orrery_proto::{SchedulerMessage, WorkerMessage};
use tokio::sync::mpsc;

/// A transport-free connection: the embedded worker uses in-process channels, a remote
/// one has a gRPC stream pumped into the same channels.
#[derive(Debug)]
pub struct WorkerLink {
    /// Messages to the scheduler.
    pub outbound: mpsc::Sender<WorkerMessage>,
    /// Messages from the scheduler; closing it ends the worker.
    pub inbound: mpsc::Receiver<SchedulerMessage>,
}
