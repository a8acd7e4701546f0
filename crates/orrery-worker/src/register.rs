//! The registration handshake: introduce the worker and wait for the scheduler's answer.

use crate::config::WorkerConfig;
use crate::error::WorkerError;
use crate::shutdown::wait_for_shutdown;
use orrery_proto::{PROTOCOL_VERSION, Register, SchedulerMessage, WorkerMessage};
use tokio::sync::{mpsc, watch};

/// How the handshake ended when it did not fail.
#[derive(Debug)]
pub(crate) enum Registration {
    Registered {
        worker_id: String,
    },
    /// Shutdown was requested before the scheduler answered.
    ShutdownRequested,
}

/// Sends `Register` and waits for `Registered` or `Refused`, ignoring anything else.
pub(crate) async fn register(
    config: &WorkerConfig,
    outbound: &mpsc::Sender<WorkerMessage>,
    inbound: &mut mpsc::Receiver<SchedulerMessage>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Registration, WorkerError> {
    let register = WorkerMessage::Register(Register {
        name: config.name.clone(),
        protocol_version: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        slots: config.slots,
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
            Some(SchedulerMessage::Registered { worker_id }) => {
                return Ok(Registration::Registered { worker_id });
            }
            Some(SchedulerMessage::Refused { reason }) => return Err(WorkerError::Refused(reason)),
            Some(other) => {
                tracing::warn!(message = ?other, "ignoring a message received before registration");
            }
        }
    }
}
