//! Worker liveness: declaring silent workers lost (their attempts retried elsewhere),
//! carrying out drain requests, and writing worker state to the store for API nodes.

use super::active_run::Slot;
use super::connections::{Session, SessionState};
use super::driver::Driver;
use super::state::SchedulerState;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_proto::{Resources, SchedulerMessage};
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

impl SchedulerState {
    /// Declares every worker silent for longer than its TTL lost: its link is dropped
    /// (a worker that only looked dead finds out when it reconnects) and its attempts
    /// end `lost`, to be retried elsewhere. Their fences are revoked with them, so a
    /// late report from the old holder is rejected.
    pub(crate) fn check_liveness(&mut self, now: DateTime<Utc>) {
        let ttl =
            chrono::Duration::from_std(self.config.worker_ttl).unwrap_or(chrono::Duration::MAX);
        let silent: Vec<u64> = self
            .fleet
            .sessions
            .iter()
            .filter(|(_, s)| s.state != SessionState::Lost && now - s.last_seen > ttl)
            .map(|(id, _)| *id)
            .collect();
        for session_id in silent {
            let Some(session) = self.fleet.sessions.get_mut(&session_id) else {
                continue;
            };
            session.state = SessionState::Lost;
            session.liveness_dirty = true;
            let name = session.name.clone();
            let running: Vec<TaskInstanceId> = session.outstanding.keys().copied().collect();
            if let Some(link) = session.link.take() {
                self.pending.dropped_links.push(link);
            }
            metrics::counter!("orrery_workers_lost_total").increment(1);
            tracing::warn!(worker = %name, running = running.len(), ttl = ?self.config.worker_ttl, "worker lost: no heartbeat within its TTL");
            let seconds = self.config.worker_ttl.as_secs_f64();
            for task_instance_id in running {
                self.lose_attempt(
                    task_instance_id,
                    format!("lost: worker {name} sent no heartbeat for {seconds}s"),
                    now,
                );
            }
            // Attempts it still ran after they were cancelled go with it.
            if let Some(session) = self.fleet.sessions.get_mut(&session_id) {
                session.outstanding.clear();
            }
        }
    }

    /// After a restart, hands an attempt that was on a worker back to that worker's
    /// session (created disconnected if needed), with its fence: if the worker comes
    /// back within its TTL still holding it, it goes on; otherwise it is lost as usual.
    /// False when the attempt names no worker.
    pub(crate) fn adopt_attempt(&mut self, run_id: RunId, slot: Slot, now: DateTime<Utc>) -> bool {
        let Some(run) = self.runs.map.get(&run_id) else {
            return false;
        };
        let Some(task) = run.record(slot) else {
            return false;
        };
        let (Some(task_instance_id), Some(worker_id)) = (task.id, task.worker_id.clone()) else {
            return false;
        };
        let name = task.worker.clone().unwrap_or_else(|| worker_id.clone());
        let resources = run
            .spec
            .tasks
            .get(slot.idx)
            .map(|spec| Resources {
                cpu_millis: spec.resources.cpu_millis,
                memory_bytes: spec.resources.memory_bytes,
                gpus: spec.resources.gpus,
            })
            .unwrap_or_default();
        let session_id = match self.fleet.session_ids.get(&worker_id) {
            Some(id) => *id,
            None => {
                let id = self.fleet.new_session_id();
                self.fleet
                    .sessions
                    .insert(id, Session::awaiting(&worker_id, &name, now));
                self.fleet.session_ids.insert(worker_id, id);
                id
            }
        };
        if let Some(session) = self.fleet.sessions.get_mut(&session_id) {
            session.outstanding.insert(task_instance_id, resources);
        }
        self.fleet
            .assigned
            .insert(task_instance_id, (run_id, slot, session_id));
        true
    }
}
