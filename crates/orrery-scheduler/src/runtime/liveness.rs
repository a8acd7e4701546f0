//! Worker liveness, the I/O part: signs of life read off the links, drain requests
//! read from the store, worker state written for API nodes.

use super::driver::Driver;
use super::state::session::SessionState;
use chrono::DateTime;
use orrery_proto::SchedulerMessage;
use orrery_store::WorkerLiveness;
use orrery_store::records::WorkerRecord;

impl Driver {
    /// Brings each worker's latest sign of life up to date with its link: a message
    /// just received on it and not handled yet counts, so a driver busy with a large
    /// commit does not mistake its own backlog for silent workers.
    pub(crate) fn note_heard(&mut self) {
        for session in self.state.fleet.sessions.values_mut() {
            let received = session
                .link
                .and_then(|l| self.links.get(&l))
                .map(|link| link.last_heard.load(std::sync::atomic::Ordering::Relaxed))
                .and_then(DateTime::from_timestamp_micros);
            if let Some(at) = received {
                session.last_seen = session.last_seen.max(at);
            }
        }
    }

    /// Closes the links of workers the state let go.
    pub(crate) fn drop_links(&mut self) {
        for link in std::mem::take(&mut self.state.pending.dropped_links) {
            self.links.remove(&link);
        }
    }

    /// Drains the workers that API nodes asked to drain (read from the store).
    pub(crate) async fn take_drain_requests(&mut self) {
        let requested = match self.store.pending_drains().await {
            Ok(requested) => requested,
            Err(error) => {
                tracing::error!(%error, "cannot read drain requests");
                return;
            }
        };
        for worker_id in requested {
            let Some(session_id) = self.state.fleet.session_ids.get(&worker_id).copied() else {
                continue;
            };
            let Some(session) = self.state.fleet.sessions.get_mut(&session_id) else {
                continue;
            };
            if session.draining || session.state == SessionState::Lost {
                continue;
            }
            session.draining = true;
            session.liveness_dirty = true;
            tracing::info!(worker = %session.name, "draining worker");
            self.state
                .pending
                .outbox
                .push((session_id, SchedulerMessage::Drain));
        }
    }

    /// Writes the state and load of workers whose liveness changed, and the last
    /// heartbeat of all, in one statement.
    pub(crate) async fn flush_liveness(&mut self) {
        let rows: Vec<WorkerLiveness> = self
            .state
            .fleet
            .sessions
            .values()
            .filter(|s| s.liveness_dirty || s.state != SessionState::Lost)
            .map(|s| WorkerLiveness {
                id: s.worker_id.clone(),
                state: s.display_state().to_owned(),
                running: u32::try_from(s.outstanding.len()).unwrap_or(u32::MAX),
                last_heartbeat_at: s.last_seen,
            })
            .collect();
        match self.store.update_worker_liveness(&rows).await {
            Ok(()) => {
                for session in self.state.fleet.sessions.values_mut() {
                    session.liveness_dirty = false;
                }
            }
            Err(error) => tracing::error!(%error, "cannot record worker liveness"),
        }
        let gauge = |state: &'static str| {
            self.state
                .fleet
                .sessions
                .values()
                .filter(|s| s.display_state() == state)
                .count() as f64
        };
        for state in ["connected", "disconnected", "draining", "lost"] {
            metrics::gauge!("orrery_workers", "state" => state).set(gauge(state));
        }
    }

    /// Records a (re)registration, keeping any pending drain request.
    pub(crate) async fn persist_session(&mut self, session_id: u64) {
        let Some(session) = self.state.fleet.sessions.get(&session_id) else {
            return;
        };
        let record = WorkerRecord {
            id: session.worker_id.clone(),
            name: session.name.clone(),
            group: session.group.clone(),
            labels: session.labels.clone(),
            slots: session.capacity.slots,
            cpu_millis: session.capacity.cpu_millis,
            memory_bytes: session.capacity.memory_bytes,
            gpus: session.capacity.gpus,
            disk_bytes: session.capacity.disk_bytes,
            version: session.version.clone(),
            state: session.display_state().to_owned(),
            running: u32::try_from(session.outstanding.len()).unwrap_or(u32::MAX),
            registered_at: session.last_seen,
            last_heartbeat_at: session.last_seen,
            drain_requested: session.draining,
        };
        if let Err(error) = self.store.upsert_worker(&record).await {
            tracing::error!(worker = %record.name, %error, "cannot record the worker's registration");
        }
    }
}
