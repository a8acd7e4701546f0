//! Reports from workers as the state sees them: registration (and reconciling what a
//! reconnecting worker holds), starts, log lines, results and closed links. Reports
//! about revoked attempts are rejected and recorded, never applied.

use super::SchedulerState;
use super::active_run::Slot;
use super::effects::{AcceptedLogs, RejectedReport};
use super::run_control::AttemptEnd;
use super::session::{Session, SessionState};
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::state::{TaskEvent, TaskState};
use orrery_proto::{
    LogChunk, PROTOCOL_VERSION, Register, SchedulerMessage, TaskFinished, TaskOutcome, TaskRef,
    TaskStarted, WorkerMessage,
};
use orrery_store::records::NewLogLine;
use std::collections::HashSet;

impl SchedulerState {
    /// Registers a worker that connected on `link_id`: a known worker (by its stable
    /// id, not lost) keeps its session and is reconciled; a new one gets a session.
    /// Answers the session id, or why the worker is refused.
    pub(crate) fn register(
        &mut self,
        link_id: u64,
        register: &Register,
        now: DateTime<Utc>,
    ) -> Result<u64, String> {
        if register.protocol_version != PROTOCOL_VERSION {
            tracing::warn!(worker = %register.name, version = register.protocol_version, "refused worker");
            return Err(format!(
                "worker speaks protocol {} but this scheduler speaks {PROTOCOL_VERSION}; upgrade the worker",
                register.protocol_version
            ));
        }
        if register.worker_id.is_empty() || register.capacity.slots == 0 {
            return Err("a worker must give an id and at least one slot".to_owned());
        }
        let known = self
            .fleet
            .session_ids
            .get(&register.worker_id)
            .copied()
            .filter(|id| {
                self.fleet
                    .sessions
                    .get(id)
                    .is_some_and(|s| s.state != SessionState::Lost)
            });
        let session_id = match known {
            Some(session_id) => {
                self.rebind(session_id, link_id, register, now);
                session_id
            }
            None => {
                let session_id = self.fleet.new_session_id();
                self.fleet
                    .sessions
                    .insert(session_id, Session::new(register, link_id, now));
                self.fleet
                    .session_ids
                    .insert(register.worker_id.clone(), session_id);
                session_id
            }
        };
        tracing::info!(worker = %register.name, id = %register.worker_id, group = %register.group, slots = register.capacity.slots, "worker registered");
        self.reconcile(session_id, &register.attempts, now);
        if self
            .fleet
            .sessions
            .get(&session_id)
            .is_some_and(|s| s.draining)
        {
            self.pending
                .outbox
                .push((session_id, SchedulerMessage::Drain));
        }
        self.pending.registered.push(session_id);
        Ok(session_id)
    }

    /// A report from the registered worker of `session_id` (a registration is
    /// [`SchedulerState::register`]'s).
    pub(crate) fn on_report(
        &mut self,
        session_id: u64,
        message: WorkerMessage,
        now: DateTime<Utc>,
    ) {
        if let Some(session) = self.fleet.sessions.get_mut(&session_id) {
            session.last_seen = now;
        }
        match message {
            WorkerMessage::Register(_) | WorkerMessage::Heartbeat => {}
            WorkerMessage::Credits { draining, .. } => {
                if let Some(session) = self.fleet.sessions.get_mut(&session_id)
                    && draining
                    && !session.draining
                {
                    tracing::info!(worker = %session.name, "worker is draining");
                    session.draining = true;
                    session.liveness_dirty = true;
                }
            }
            WorkerMessage::TaskStarted(started) => self.on_task_started(&started),
            WorkerMessage::LogChunk(chunk) => self.on_log_chunk(session_id, chunk),
            WorkerMessage::TaskFinished(finished) => {
                self.on_task_finished(session_id, finished, now)
            }
        }
    }

    /// Log lines of a current attempt are kept for the log writer; others are rejected.
    fn on_log_chunk(&mut self, session_id: u64, chunk: LogChunk) {
        let accepted = self
            .current_attempt(&chunk.task)
            .and_then(|(run_id, slot)| {
                let task = self.runs.map.get(&run_id)?.record(slot)?;
                (task.state != TaskState::Lost)
                    .then(|| (run_id, task.task_name.clone(), task.attempt))
            });
        let Some((run_id, task_name, attempt)) = accepted else {
            self.reject(session_id, chunk.task, "log lines");
            return;
        };
        let lines: Vec<NewLogLine> = chunk
            .lines
            .into_iter()
            .map(|line| NewLogLine {
                at: line.at,
                stream: line.stream.as_str(),
                text: line.text,
            })
            .collect();
        self.pending.logs.push(AcceptedLogs {
            run_id,
            task_instance_id: chunk.task.task_instance_id,
            task_name,
            attempt,
            lines,
        });
    }

    fn on_task_finished(&mut self, session_id: u64, finished: TaskFinished, now: DateTime<Utc>) {
        // Acknowledged either way: a rejected result is final too, so the worker stops
        // re-sending it.
        self.pending
            .outbox
            .push((session_id, SchedulerMessage::Ack(finished.task)));
        let current = self.current_attempt(&finished.task);
        // The attempt's process has ended on this worker, whatever became of the
        // attempt meanwhile (cancelled, replaced, timed out): its slot is free again.
        let held_here = self.release_attempt(session_id, finished.task.task_instance_id);
        let Some((run_id, slot)) = current else {
            // A cancelled attempt reporting that it stopped is the expected answer to
            // our cancel, not a revoked report.
            if !(held_here && finished.outcome == TaskOutcome::Cancelled) {
                self.reject(session_id, finished.task, "result");
            }
            return;
        };
        let Some(task) = self.runs.record_mut(run_id, slot) else {
            return;
        };
        if !task.state.is_on_worker() {
            return;
        }
        task.exit_code = finished.exit_code;
        task.outputs = finished.outputs;
        if let Some(usage) = finished.usage {
            task.cpu_time_ms = usage
                .cpu_time
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
            task.peak_memory_bytes = usage.peak_memory_bytes;
        }
        if task.started_at.is_none() {
            task.started_at = finished.started_at;
        }
        let event = match finished.outcome {
            TaskOutcome::Succeeded => TaskEvent::Succeed,
            TaskOutcome::Failed => TaskEvent::Fail,
            TaskOutcome::TimedOut => TaskEvent::TimeOut,
            // We did not ask for it (our cancels make the attempt terminal at once):
            // the worker is shutting down, so the attempt is lost and may be retried.
            TaskOutcome::Cancelled => TaskEvent::Lose,
        };
        let end = AttemptEnd {
            event,
            error: finished.error,
            finished_at: Some(finished.finished_at),
        };
        self.end_attempt(run_id, slot, end, now);
    }

    /// Records a report about an attempt that is no longer the worker's to report on
    /// (cancelled, declared lost or reassigned), for the driver to log against it.
    fn reject(&mut self, session_id: u64, task: TaskRef, what: &'static str) {
        metrics::counter!("orrery_rejected_reports_total", "kind" => what).increment(1);
        let worker = self
            .fleet
            .sessions
            .get(&session_id)
            .map_or_else(|| "?".to_owned(), |s| s.name.clone());
        tracing::warn!(%worker, task_instance = %task.task_instance_id, fence = task.fence, "rejected {what} from a revoked assignment");
        self.pending
            .rejected
            .push(RejectedReport { worker, task, what });
    }

    /// The link `link_id` of `session_id` closed: its worker keeps its attempts until
    /// its TTL runs out.
    pub(crate) fn on_link_closed(&mut self, session_id: u64, link_id: u64) {
        let Some(session) = self.fleet.sessions.get_mut(&session_id) else {
            return;
        };
        if session.link == Some(link_id) {
            session.link = None;
            session.state = SessionState::Disconnected;
            session.liveness_dirty = true;
            tracing::warn!(worker = %session.name, running = session.outstanding.len(), "worker disconnected; keeping its attempts until its TTL runs out");
        }
    }

    /// Squares what the worker says it holds with what the scheduler assigned to it:
    /// attempts it forgot (it restarted) are lost; attempts it holds that are no
    /// longer current (revoked while it was away) are cancelled on the worker.
    fn reconcile(&mut self, session_id: u64, held: &[TaskRef], now: DateTime<Utc>) {
        let held_ids: HashSet<TaskInstanceId> = held.iter().map(|t| t.task_instance_id).collect();
        let Some(session) = self.fleet.sessions.get(&session_id) else {
            return;
        };
        let name = session.name.clone();
        let forgotten: Vec<TaskInstanceId> = session
            .outstanding
            .keys()
            .filter(|id| !held_ids.contains(id))
            .copied()
            .collect();
        for task_instance_id in forgotten {
            self.lose_attempt(
                task_instance_id,
                format!("lost: worker {name} restarted and no longer runs this attempt"),
                now,
            );
        }
        for task in held {
            let assigned_here = self
                .fleet
                .assigned
                .get(&task.task_instance_id)
                .is_some_and(|(_, _, holder)| *holder == session_id);
            let still_wanted = self.current_attempt(task).is_some_and(|(run_id, slot)| {
                self.runs
                    .record(run_id, slot)
                    .is_some_and(|record| record.state.is_on_worker())
            });
            if !(assigned_here && still_wanted) {
                // It still runs there until the cancel lands: count its slot until the
                // worker reports it ended.
                if let Some(session) = self.fleet.sessions.get_mut(&session_id) {
                    session
                        .outstanding
                        .entry(task.task_instance_id)
                        .or_default();
                }
                self.pending
                    .outbox
                    .push((session_id, SchedulerMessage::Cancel(*task)));
            }
        }
    }

    /// Ends an attempt that its worker can no longer report on.
    pub(crate) fn lose_attempt(
        &mut self,
        task_instance_id: TaskInstanceId,
        message: String,
        now: DateTime<Utc>,
    ) {
        let Some((run_id, slot, holder)) = self.fleet.assigned.remove(&task_instance_id) else {
            return;
        };
        if let Some(session) = self.fleet.sessions.get_mut(&holder) {
            session.outstanding.remove(&task_instance_id);
            session.liveness_dirty = true;
        }
        let still_held = self
            .runs
            .record(run_id, slot)
            .is_some_and(|t| t.id == Some(task_instance_id) && t.state.is_on_worker());
        if still_held {
            self.end_attempt(
                run_id,
                slot,
                AttemptEnd::decided(TaskEvent::Lose, message),
                now,
            );
        }
    }

    /// The current attempt this report is about, if its fence is still valid.
    pub(crate) fn current_attempt(&self, task: &TaskRef) -> Option<(RunId, Slot)> {
        let (run_id, slot, _) = self.fleet.assigned.get(&task.task_instance_id)?;
        let record = self.runs.record(*run_id, *slot)?;
        let current = record.id == Some(task.task_instance_id) && record.fence == task.fence;
        current.then_some((*run_id, *slot))
    }

    fn on_task_started(&mut self, started: &TaskStarted) {
        let Some((run_id, slot)) = self.current_attempt(&started.task) else {
            return;
        };
        let Some(run) = self.runs.map.get_mut(&run_id) else {
            return;
        };
        // Lateness of a scheduled run: its first task's start against the fire time.
        if let Some(scheduled_at) = run.record.scheduled_at
            && run.tasks.iter().all(|t| t.started_at.is_none())
        {
            let late = (started.started_at - scheduled_at)
                .to_std()
                .unwrap_or_default();
            metrics::histogram!("orrery_schedule_lateness_seconds").record(late.as_secs_f64());
        }
        let Some(task) = run.record_mut(slot) else {
            return;
        };
        if let Ok(next) = task.state.on(TaskEvent::Start) {
            task.state = next;
            task.started_at = Some(started.started_at);
            self.pending.dirty.insert((run_id, slot));
        }
    }

    /// Frees the capacity an attempt held on the worker of `session_id` and forgets
    /// where it ran; true when that worker held it.
    pub(crate) fn release_attempt(
        &mut self,
        session_id: u64,
        task_instance_id: TaskInstanceId,
    ) -> bool {
        let held_here = self
            .fleet
            .sessions
            .get_mut(&session_id)
            .and_then(|session| {
                session.liveness_dirty = true;
                session.outstanding.remove(&task_instance_id)
            })
            .is_some();
        // An attempt held elsewhere (reassigned after this worker looked lost) stays
        // with its current holder.
        if self
            .fleet
            .assigned
            .get(&task_instance_id)
            .is_some_and(|(_, _, holder)| *holder == session_id)
        {
            self.fleet.assigned.remove(&task_instance_id);
        }
        held_here
    }

    /// A known worker registered again (a new link): it keeps its session and attempts.
    fn rebind(&mut self, session_id: u64, link_id: u64, register: &Register, now: DateTime<Utc>) {
        let Some(session) = self.fleet.sessions.get_mut(&session_id) else {
            return;
        };
        if let Some(old) = session.link.replace(link_id)
            && old != link_id
        {
            // Dropping the old link's sender ends its stream; its reader reports it closed.
            self.pending.dropped_links.push(old);
        }
        session.state = SessionState::Connected;
        session.last_seen = now;
        session.name.clone_from(&register.name);
        session.labels.clone_from(&register.labels);
        session.group = super::session::group_name(&register.group).to_owned();
        session.capacity = register.capacity;
        session.version.clone_from(&register.version);
        session.liveness_dirty = true;
        tracing::info!(worker = %session.name, running = session.outstanding.len(), "worker reconnected within its TTL");
    }
}
