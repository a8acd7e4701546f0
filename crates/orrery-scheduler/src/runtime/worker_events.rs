//! Reports from workers (register, start, logs, finish, disconnect) and dispatching
//! ready tasks to them.

use super::active_run::Slot;
use super::driver::Driver;
use super::render::build_assignment;
use super::run_control::AttemptEnd;
use crate::engine::{WorkerCapacity, place_tasks};
use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_core::spec::TaskKind;
use orrery_core::state::{TaskEvent, TaskState};
use orrery_proto::{
    LogChunk, PROTOCOL_VERSION, SchedulerMessage, TaskFinished, TaskOutcome, TaskRef, TaskStarted,
    WorkerMessage,
};
use orrery_store::LogOwner;
use orrery_store::records::NewLogLine;

impl Driver {
    pub(crate) async fn on_worker_message(&mut self, connection: u64, message: WorkerMessage) {
        match message {
            WorkerMessage::Register(register) => {
                let Some(conn) = self.connections.get_mut(&connection) else {
                    return;
                };
                if register.protocol_version != PROTOCOL_VERSION {
                    tracing::warn!(worker = %register.name, version = register.protocol_version, "refused worker");
                    conn.send(SchedulerMessage::Refused {
                        reason: format!(
                            "worker speaks protocol {} but this scheduler speaks {PROTOCOL_VERSION}; upgrade the worker",
                            register.protocol_version
                        ),
                    });
                    return;
                }
                tracing::info!(worker = %register.name, slots = register.slots, "worker registered");
                conn.slots = register.slots;
                let worker_id = format!("{}#{connection}", register.name);
                conn.name = Some(register.name);
                conn.send(SchedulerMessage::Registered { worker_id });
            }
            WorkerMessage::Credits { .. } | WorkerMessage::Heartbeat => {}
            WorkerMessage::TaskStarted(started) => self.on_task_started(&started),
            WorkerMessage::LogChunk(chunk) => self.on_log_chunk(chunk).await,
            WorkerMessage::TaskFinished(finished) => self.on_task_finished(connection, finished),
        }
    }

    /// The current attempt this report is about, if its fence is still valid.
    fn current_attempt(&self, task: &TaskRef) -> Option<(RunId, Slot)> {
        let (run_id, slot, _) = self.assigned.get(&task.task_instance_id)?;
        let record = self.runs.get(run_id)?.record(*slot)?;
        let current = record.id == Some(task.task_instance_id) && record.fence == task.fence;
        current.then_some((*run_id, *slot))
    }

    fn on_task_started(&mut self, started: &TaskStarted) {
        let Some((run_id, slot)) = self.current_attempt(&started.task) else {
            return;
        };
        let Some(run) = self.runs.get_mut(&run_id) else {
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
            self.dirty.insert((run_id, slot));
        }
    }

    async fn on_log_chunk(&mut self, chunk: LogChunk) {
        let accepted = self
            .current_attempt(&chunk.task)
            .and_then(|(run_id, slot)| {
                let task = self.runs.get(&run_id)?.record(slot)?;
                (task.state != TaskState::Lost)
                    .then(|| (run_id, task.task_name.clone(), task.attempt))
            });
        let Some((run_id, task_name, attempt)) = accepted else {
            tracing::warn!(task_instance = %chunk.task.task_instance_id, fence = chunk.task.fence, "rejected log lines from a revoked assignment");
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
        let owner = LogOwner {
            run_id,
            task_instance_id: chunk.task.task_instance_id,
            task_name: &task_name,
            attempt,
        };
        if let Err(error) = self.store.append_logs(owner, &lines).await {
            tracing::error!(run = %run_id, task = %task_name, %error, "cannot store log lines");
        }
    }

    fn on_task_finished(&mut self, connection: u64, finished: TaskFinished) {
        let now = self.clock.now();
        let current = self.current_attempt(&finished.task);
        if let Some((_, _, holder)) = self.assigned.remove(&finished.task.task_instance_id)
            && let Some(conn) = self.connections.get_mut(&holder)
        {
            conn.outstanding.remove(&finished.task.task_instance_id);
        }
        self.outbox
            .push((connection, SchedulerMessage::Ack(finished.task)));
        let Some((run_id, slot)) = current else {
            tracing::warn!(task_instance = %finished.task.task_instance_id, fence = finished.task.fence, "rejected result from a revoked assignment");
            return;
        };
        let Some(task) = self.runs.get_mut(&run_id).and_then(|r| r.record_mut(slot)) else {
            return;
        };
        if !task.state.is_on_worker() {
            return;
        }
        task.exit_code = finished.exit_code;
        task.outputs = finished.outputs;
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

    pub(crate) fn on_worker_closed(&mut self, connection: u64) {
        let now = self.clock.now();
        let Some(conn) = self.connections.remove(&connection) else {
            return;
        };
        let name = conn
            .name
            .unwrap_or_else(|| format!("connection {connection}"));
        tracing::warn!(worker = %name, "worker disconnected");
        for task_instance_id in conn.outstanding {
            let Some((run_id, slot, _)) = self.assigned.remove(&task_instance_id) else {
                continue;
            };
            let still_held = self
                .runs
                .get(&run_id)
                .and_then(|r| r.record(slot))
                .is_some_and(|t| t.id == Some(task_instance_id) && t.state.is_on_worker());
            if still_held {
                let message =
                    format!("lost: worker {name} disconnected while this attempt was running");
                self.end_attempt(
                    run_id,
                    slot,
                    AttemptEnd::decided(TaskEvent::Lose, message),
                    now,
                );
            }
        }
    }

    /// Hands queued tasks, oldest first, to workers with free slots.
    pub(crate) fn dispatch(&mut self, now: DateTime<Utc>) {
        let capacities: Vec<WorkerCapacity> = self
            .connections
            .iter()
            .map(|(id, conn)| WorkerCapacity {
                worker: *id,
                free_slots: conn.free_slots(),
            })
            .collect();
        let total_free: usize = capacities.iter().map(|c| c.free_slots as usize).sum();
        let mut candidates = Vec::new();
        // Mapped instances held back by their fan-out's max_parallel, given back after.
        let mut held = Vec::new();
        let mut running_per_fanout: std::collections::HashMap<(RunId, usize), u32> =
            Default::default();
        while candidates.len() < total_free {
            let Some(entry) = self.ready.pop() else {
                break;
            };
            let (run_id, slot) = (entry.run(), entry.slot());
            let Some(run) = self.runs.get(&run_id) else {
                continue;
            };
            let queued = run
                .record(slot)
                .is_some_and(|t| t.state == TaskState::Queued && t.id.is_some());
            if !queued {
                continue;
            }
            let spec = run.spec.tasks.get(slot.idx);
            // Sub-workflows take no worker slot: the driver runs them as child runs.
            if slot.map.is_none() && spec.is_some_and(|t| matches!(t.kind, TaskKind::Job { .. })) {
                self.children_to_start.push((run_id, slot.idx));
                continue;
            }
            if slot.map.is_some()
                && let Some(limit) = spec.and_then(|t| t.max_parallel)
            {
                let running = running_per_fanout
                    .entry((run_id, slot.idx))
                    .or_insert_with(|| {
                        run.mapped.get(&slot.idx).map_or(0, |m| {
                            m.iter().filter(|t| t.state.is_on_worker()).count() as u32
                        })
                    });
                if *running >= limit.get() {
                    held.push(entry);
                    continue;
                }
                *running += 1;
            }
            candidates.push(entry);
        }
        let placements = place_tasks(candidates.len(), &capacities);
        let n_placed = placements.len();
        for placement in placements {
            if let Some(entry) = candidates.get(placement.task) {
                self.assign(entry.run(), entry.slot(), placement.worker, now);
            }
        }
        for entry in candidates.into_iter().skip(n_placed).chain(held) {
            self.ready.give_back(entry);
        }
    }

    fn assign(&mut self, run_id: RunId, slot: Slot, connection: u64, now: DateTime<Utc>) {
        let fence = self.issue_fence();
        let options = self.render_options();
        let Some(worker_name) = self
            .connections
            .get(&connection)
            .and_then(|c| c.name.clone())
        else {
            return;
        };
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        let Some(task) = run.record(slot) else {
            return;
        };
        let Some(task_instance_id) = task.id else {
            return;
        };
        let task_ref = TaskRef {
            task_instance_id,
            attempt: task.attempt,
            fence,
        };
        let assignment = build_assignment(run, slot, task_ref, &options);
        let Some(task) = run.record_mut(slot) else {
            return;
        };
        let Ok(assigned) = task.state.on(TaskEvent::Assign) else {
            return;
        };
        task.state = assigned;
        task.fence = fence;
        task.worker = Some(worker_name);
        self.dirty.insert((run_id, slot));
        match assignment {
            Ok(assignment) => {
                self.assigned
                    .insert(task_instance_id, (run_id, slot, connection));
                if let Some(conn) = self.connections.get_mut(&connection) {
                    conn.outstanding.insert(task_instance_id);
                }
                self.outbox
                    .push((connection, SchedulerMessage::Assign(assignment)));
            }
            Err(error) => {
                // A template that cannot render will not render on a retry either.
                task.state = TaskState::Failed;
                task.error = Some(error);
                task.finished_at = Some(now);
                self.touched.insert(run_id);
                if slot.map.is_some() {
                    self.settle_fanout(run_id, slot.idx, now);
                }
            }
        }
    }
}
