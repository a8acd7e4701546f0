//! Dispatching ready tasks to workers: what each task needs, what each worker offers,
//! the engine's placement, then the assignments (fenced) or a visible waiting reason.

use super::SchedulerState;
use super::active_run::Slot;
use super::ready_queue::ReadyEntry;
use super::render::{assignment_inputs, template_context};
use super::session::group_name;
use crate::engine::{Placement, TaskNeeds, WorkerOffer, place_tasks};
use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_core::spec::{TaskKind, TaskSpec};
use orrery_core::state::{TaskEvent, TaskState};
use orrery_core::template::render;
use orrery_proto::{Assignment, Resources, SchedulerMessage, TaskRef};
use std::collections::HashMap;

/// Beyond the free slots, how many more ready tasks one pass looks at, so tasks that
/// fit nowhere now do not hide smaller ones behind them (bounded to keep a pass cheap).
const EXTRA_SCAN: usize = 256;

/// With no free slot anywhere, how many tasks at the head of the queue are looked at
/// so they can say why they wait.
const IDLE_SCAN: usize = 16;

/// A task that waits only for a busy worker says so after this long: a burst of tasks
/// queued for a moment needs no reason written to the store.
const BUSY_REASON_AFTER: chrono::Duration = chrono::Duration::seconds(2);

impl SchedulerState {
    /// Sends each rendered assignment (`outcomes` in the order of `pending`); an
    /// assignment that failed to render fails its task, one not rendered in time
    /// waits for the next pass.
    pub(crate) fn place_rendered(
        &mut self,
        pending: Vec<PendingAssignment>,
        outcomes: Vec<Option<Result<Assignment, String>>>,
        now: DateTime<Utc>,
    ) {
        let mut outcomes = outcomes.into_iter();
        for item in pending {
            match outcomes.next().flatten() {
                Some(Ok(mut assignment)) => {
                    assignment.resources = item.resources;
                    self.commit_assignment(&item, assignment);
                }
                Some(Err(error)) => {
                    self.release_attempt(item.session_id, item.task_instance_id);
                    self.fail_unrenderable(item.run_id, item.slot, error, now);
                }
                None => {
                    // Not rendered before the budget ran out (another task's template
                    // used it): it waits for the next pass.
                    self.release_attempt(item.session_id, item.task_instance_id);
                    self.make_ready_slot(item.run_id, item.slot);
                }
            }
        }
    }
}

/// A placed task waiting for its assignment to be rendered.
pub(crate) struct PendingAssignment {
    run_id: RunId,
    slot: Slot,
    session_id: u64,
    resources: Resources,
    task_instance_id: orrery_core::ids::TaskInstanceId,
}

/// Whether `slot` is one shard of a broadcast task (pinned to the worker recorded on it).
fn is_broadcast_shard(spec: Option<&TaskSpec>, slot: Slot) -> bool {
    slot.map.is_some()
        && spec.is_some_and(|t| t.dispatch == orrery_core::spec::DispatchMode::Broadcast)
}

/// What the task asks of a worker.
fn needs_of(spec: &TaskSpec, pinned: Option<String>, affinity_key: Option<String>) -> TaskNeeds {
    TaskNeeds {
        group: group_name(spec.worker.group.as_deref().unwrap_or_default()).to_owned(),
        labels: spec.worker.labels.clone(),
        cpu_millis: spec.resources.cpu_millis,
        memory_bytes: spec.resources.memory_bytes,
        gpus: spec.resources.gpus,
        pinned,
        affinity_key,
    }
}

impl SchedulerState {
    /// Hands ready tasks, by priority then oldest first, to workers that fit them.
    pub(crate) fn dispatch(&mut self, now: DateTime<Utc>) {
        let mut offers: Vec<WorkerOffer> = self
            .fleet
            .sessions
            .iter()
            .filter(|(_, s)| s.accepts_work())
            .map(|(id, s)| WorkerOffer {
                worker: *id,
                group: s.group.clone(),
                labels: s.labels.clone(),
                free_slots: s.free_slots(),
                free_cpu_millis: s.free_cpu_millis(),
                total_cpu_millis: (s.capacity.cpu_millis > 0).then_some(s.capacity.cpu_millis),
                free_memory_bytes: s.free_memory_bytes(),
                total_memory_bytes: (s.capacity.memory_bytes > 0)
                    .then_some(s.capacity.memory_bytes),
                free_gpus: s.free_gpus(),
                total_gpus: s.capacity.gpus,
                stable_id: s.worker_id.clone(),
            })
            .collect();
        offers.sort_by_key(|o| o.worker);
        let total_free: usize = offers.iter().map(|o| o.free_slots as usize).sum();
        if self.runs.ready.is_empty() {
            return;
        }
        // With no free slot anywhere, the head of the queue is still looked at, so its
        // tasks say why they wait (every matching worker busy, none connected).
        let scan = if total_free == 0 {
            IDLE_SCAN
        } else {
            total_free + EXTRA_SCAN
        };
        let mut candidates: Vec<ReadyEntry> = Vec::new();
        let mut needs: Vec<TaskNeeds> = Vec::new();
        // Mapped instances held back by their fan-out's max_parallel, given back after.
        let mut held = Vec::new();
        let mut running_per_fanout: HashMap<(RunId, usize), u32> = HashMap::new();
        while candidates.len() < scan {
            let Some(entry) = self.runs.ready.pop() else {
                break;
            };
            let (run_id, slot) = (entry.run(), entry.slot());
            let Some(run) = self.runs.map.get(&run_id) else {
                continue;
            };
            let Some(record) = run.record(slot) else {
                continue;
            };
            if !(record.state == TaskState::Queued && record.id.is_some()) {
                continue;
            }
            let spec = run.spec.tasks.get(slot.idx);
            // Sub-workflows take no worker slot: the driver runs them as child runs.
            if slot.map.is_none() && spec.is_some_and(|t| matches!(t.kind, TaskKind::Job { .. })) {
                self.pending.children_to_start.push((run_id, slot.idx));
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
            let pinned = record
                .worker_id
                .clone()
                .filter(|_| is_broadcast_shard(spec, slot));
            let task_needs = match spec {
                Some(spec) => needs_of(spec, pinned, self.affinity_key(run_id, slot, spec)),
                None => TaskNeeds::default(),
            };
            needs.push(task_needs);
            candidates.push(entry);
        }
        let decisions = place_tasks(&needs, &mut offers);
        for ((entry, decision), task_needs) in candidates.into_iter().zip(decisions).zip(&needs) {
            match decision {
                Placement::Place(worker) => {
                    let resources = Resources {
                        cpu_millis: task_needs.cpu_millis,
                        memory_bytes: task_needs.memory_bytes,
                        gpus: task_needs.gpus,
                    };
                    self.assign(entry.run(), entry.slot(), worker, resources, now);
                }
                Placement::Busy { matching } => {
                    let waited_long = self
                        .runs
                        .record(entry.run(), entry.slot())
                        .and_then(|task| task.queued_at)
                        .is_some_and(|queued_at| now - queued_at >= BUSY_REASON_AFTER);
                    if !waited_long {
                        self.runs.ready.give_back(entry);
                        continue;
                    }
                    let reason = if matching == 1 {
                        "waiting for a free slot: the one worker that can run it is busy".to_owned()
                    } else {
                        format!(
                            "waiting for a free slot: all {matching} workers that can run it are busy"
                        )
                    };
                    self.set_waiting_reason(entry.run(), entry.slot(), reason);
                    self.runs.ready.give_back(entry);
                }
                Placement::Unplaceable(reason) => {
                    self.set_waiting_reason(entry.run(), entry.slot(), reason);
                    self.runs.ready.give_back(entry);
                }
            }
        }
        for entry in held {
            self.runs.ready.give_back(entry);
        }
    }

    /// Shows why a task waits (`orrery run get`), written once per change.
    fn set_waiting_reason(&mut self, run_id: RunId, slot: Slot, reason: String) {
        let Some(task) = self.runs.record_mut(run_id, slot) else {
            return;
        };
        if task.waiting_reason.as_deref() != Some(reason.as_str()) {
            tracing::debug!(run = %run_id, task = %task.task_name, %reason, "task waits");
            task.waiting_reason = Some(reason);
            self.pending.dirty.insert((run_id, slot));
        }
    }

    /// The task's rendered `affinity_key`, if it has one that renders.
    fn affinity_key(&self, run_id: RunId, slot: Slot, spec: &TaskSpec) -> Option<String> {
        let template = spec.affinity_key.as_ref()?;
        let run = self.runs.map.get(&run_id)?;
        let attempt = run.record(slot).map_or(1, |t| t.attempt);
        let context = template_context(run, slot.idx, attempt, &self.render_options());
        render(template, &context).ok()
    }

    /// Reserves `resources` on the worker for `slot` and queues its assignment to be
    /// rendered; the task is assigned once it rendered (see `finish_assignments`).
    fn assign(
        &mut self,
        run_id: RunId,
        slot: Slot,
        session_id: u64,
        resources: Resources,
        now: DateTime<Utc>,
    ) {
        let fence = self.fleet.issue_fence();
        let options = self.render_options();
        let Some(run) = self.runs.map.get(&run_id) else {
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
        match assignment_inputs(run, slot, task_ref, &options) {
            Ok(inputs) => {
                self.fleet
                    .assigned
                    .insert(task_instance_id, (run_id, slot, session_id));
                if let Some(session) = self.fleet.sessions.get_mut(&session_id) {
                    session.outstanding.insert(task_instance_id, resources);
                }
                self.pending.to_render.push((
                    PendingAssignment {
                        run_id,
                        slot,
                        session_id,
                        resources,
                        task_instance_id,
                    },
                    inputs,
                ));
            }
            Err(error) => self.fail_unrenderable(run_id, slot, error, now),
        }
    }

    /// Marks `item`'s task assigned (fenced) and queues its message.
    fn commit_assignment(&mut self, item: &PendingAssignment, assignment: Assignment) {
        let (worker_name, worker_id) = match self.fleet.sessions.get(&item.session_id) {
            Some(s) => (s.name.clone(), s.worker_id.clone()),
            None => return,
        };
        let Some(task) = self.runs.record_mut(item.run_id, item.slot) else {
            return;
        };
        let Ok(assigned) = task.state.on(TaskEvent::Assign) else {
            // Cancelled while it rendered: nothing to send.
            self.release_attempt(item.session_id, assignment.task.task_instance_id);
            return;
        };
        task.state = assigned;
        task.fence = assignment.task.fence;
        task.worker = Some(worker_name);
        task.worker_id = Some(worker_id);
        task.waiting_reason = None;
        self.pending.dirty.insert((item.run_id, item.slot));
        self.pending
            .outbox
            .push((item.session_id, SchedulerMessage::Assign(assignment)));
    }

    /// Fails a task whose templates cannot render: they will not render on a retry
    /// either.
    fn fail_unrenderable(&mut self, run_id: RunId, slot: Slot, error: String, now: DateTime<Utc>) {
        let Some(task) = self.runs.record_mut(run_id, slot) else {
            return;
        };
        if task.state != TaskState::Queued {
            return;
        }
        task.state = TaskState::Failed;
        task.error = Some(error);
        task.finished_at = Some(now);
        self.pending.dirty.insert((run_id, slot));
        self.runs.touched.insert(run_id);
        if slot.map.is_some() {
            self.settle_fanout(run_id, slot.idx, now);
        }
    }
}
