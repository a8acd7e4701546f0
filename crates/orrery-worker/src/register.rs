//! The registration handshake: introduce the worker and wait for the scheduler's answer.

use crate::config::WorkerConfig;
use crate::error::WorkerError;
use crate::shutdown::wait_for_shutdown;
use orrery_proto::{PROTOCOL_VERSION, Register, SchedulerMessage, TaskRef, WorkerMessage};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How the handshake ended when it did not fail.
#[derive(Debug)]
pub(crate) enum Registration {
    Registered {
        worker_id: String,
        heartbeat_interval: Duration,
    },
    /// Shutdown was requested before the scheduler answered.
    ShutdownRequested,
}

/// Sends `Register` (naming the attempts the worker still holds) and waits for
/// `Registered` or `Refused`, ignoring anything else.
pub(crate) async fn register(
    config: &WorkerConfig,
    worker_id: &str,
    attempts: Vec<TaskRef>,
    outbound: &mpsc::Sender<WorkerMessage>,
    inbound: &mut mpsc::Receiver<SchedulerMessage>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Registration, WorkerError> {
    let register = WorkerMessage::Register(Register {
        name: config.name.clone(),
        protocol_version: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        worker_id: worker_id.to_owned(),
        group: config.group.clone(),
        labels: config.labels.clone(),
        capacity: config.capacity(),
        attempts,
    });
    outbound
        .send(register)
        .await
        .map_err(|_| WorkerError::Disconnected)?;
    loop {
        let message = tokio::select! {
            message = inbound.recv() => message,
            () = wait_for_shutdown(shutdown) => return Ok(Registration::ShutdownRequested),
        };
        match message {
            None => return Err(WorkerError::Disconnected),
            Some(SchedulerMessage::Registered {
                worker_id,
                heartbeat_interval,
            }) => {
                return Ok(Registration::Registered {
                    worker_id,
                    heartbeat_interval,
                });
            }
            Some(SchedulerMessage::Refused { reason }) => return Err(WorkerError::Refused(reason)),
            Some(other) => {
                tracing::warn!(message = ?other, "ignoring a message received before registration");
            }
        }
    }
}
