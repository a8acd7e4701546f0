//! Worker liveness as the state decides it: silent workers are lost (their attempts
//! retried elsewhere), and attempts found on a worker after a restart are adopted.

use super::SchedulerState;
use super::active_run::Slot;
use super::session::{Session, SessionState};
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_proto::Resources;

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
            let projects: std::collections::BTreeSet<String> = running
                .iter()
                .filter_map(|id| self.fleet.assigned.get(id))
                .filter_map(|(run_id, _, _)| self.runs.map.get(run_id))
                .map(|run| run.record.project.clone())
                .collect();
            let projects: Vec<String> = projects.into_iter().collect();
            self.raise_worker_lost(
                &name,
                &projects,
                &format!("worker {name} sent no heartbeat for {seconds}s"),
                now,
            );
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
