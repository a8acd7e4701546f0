//! Worker connections as the driver sees them: a message is routed by its link to
//! the worker's session and handed to the state; registration answers go straight
//! back on the link. What the state decided (log lines, rejected reports,
//! registrations) is written here.

use super::driver::Driver;
use orrery_proto::{SchedulerMessage, WorkerMessage};

impl Driver {
    pub(crate) async fn on_worker_message(&mut self, link_id: u64, message: WorkerMessage) {
        let now = self.clock.now();
        if let WorkerMessage::Register(register) = message {
            let answer = self.state.register(link_id, &register, now);
            self.drop_links();
            let Some(link) = self.links.get_mut(&link_id) else {
                return;
            };
            match answer {
                Ok(session_id) => {
                    link.session = Some(session_id);
                    link.send(SchedulerMessage::Registered {
                        worker_id: register.worker_id.clone(),
                        heartbeat_interval: self.state.config.heartbeat_interval,
                    });
                }
                Err(reason) => link.send(SchedulerMessage::Refused { reason }),
            }
            self.write_registrations().await;
            return;
        }
        let Some(session_id) = self.links.get(&link_id).and_then(|l| l.session) else {
            tracing::warn!(
                link = link_id,
                "ignoring a message from a worker that has not registered"
            );
            return;
        };
        self.state.on_report(session_id, message, now);
    }

    /// A link closed: its worker keeps its attempts until its TTL runs out.
    pub(crate) fn on_link_closed(&mut self, link_id: u64) {
        let Some(link) = self.links.remove(&link_id) else {
            return;
        };
        if let Some(session_id) = link.session {
            self.state.on_link_closed(session_id, link_id);
        }
    }

    /// Writes the registrations the state recorded.
    async fn write_registrations(&mut self) {
        for session_id in std::mem::take(&mut self.state.pending.registered) {
            self.persist_session(session_id).await;
        }
    }

    /// Hands accepted log lines and rejected reports to the log writer.
    pub(crate) async fn write_reports(&mut self) {
        let now = self.clock.now();
        for logs in std::mem::take(&mut self.state.pending.logs) {
            self.log_writer.append(logs).await;
        }
        for rejected in std::mem::take(&mut self.state.pending.rejected) {
            self.log_writer.record_rejected(rejected, now).await;
        }
    }
}
