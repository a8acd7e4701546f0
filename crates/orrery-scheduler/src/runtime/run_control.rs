//! Taking runs up from the store (new ones and, after a restart, interrupted ones),
//! cancelling them, and applying the engine's decisions.

use super::active_run::ActiveRun;
use super::active_run::Slot;
use super::advance::shape_of;
use super::driver::Driver;
use super::job_trigger::concurrency_of;
use crate::engine::{may_start, next_retry_at};
use chrono::{DateTime, Utc};
use orrery_core::dag::Dag;
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::retry::{retries_on, retry_delay_for};
use orrery_core::spec::JobSpec;
use orrery_core::spec::{SpecFormat, parse_job_spec};
use orrery_core::state::{RunEvent, RunState, TaskEvent, TaskState};
use orrery_proto::{SchedulerMessage, TaskRef};
use orrery_store::RunUpdate;
use orrery_store::records::{RunRecord, TaskRecord};
use std::collections::BTreeMap;

/// How an attempt ended, as reported by its worker or decided by the scheduler.
pub(crate) struct AttemptEnd {
    pub(crate) event: TaskEvent,
    pub(crate) error: Option<String>,
    /// When the worker saw the process end; `None` when the scheduler decided (lost).
    /// The worker's clock also stamped `started_at`, so durations use one clock.
    pub(crate) finished_at: Option<DateTime<Utc>>,
}

impl AttemptEnd {
    /// Decided by the scheduler itself, with a reason.
    pub(crate) fn decided(event: TaskEvent, error: String) -> Self {
        Self {
            event,
            error: Some(error),
            finished_at: None,
        }
    }
}

impl Driver {
    /// Reads active runs: takes up new ones and carries out cancel requests.
    pub(crate) async fn sync_with_store(&mut self) {
        let active = match self.store.active_runs().await {
            Ok(active) => active,
            Err(error) => {
                tracing::error!(%error, "cannot read active runs");
                return;
            }
        };
        for record in active {
            let cancel = record.cancel_requested;
            let id = record.id;
            match self.runs.get_mut(&id) {
                Some(run) => {
                    if cancel && !run.record.cancel_requested {
                        run.record.cancel_requested = true;
                        self.cancel_run(id);
                    }
                }
                None => {
                    if let Err(error) = self.take_up_run(record).await {
                        tracing::error!(run = %id, %error, "cannot take up run");
                        continue;
                    }
                    if cancel {
                        self.cancel_run(id);
                    }
                }
            }
        }
    }

    /// Loads a run into memory. Attempts it finds on a worker were held by an earlier
    /// life of this process; they are recorded as lost and retried by their policy.
    pub(crate) async fn take_up_run(
        &mut self,
        record: RunRecord,
    ) -> Result<(), orrery_store::StoreError> {
        let now = self.clock.now();
        // A fired run's spec is the one its trigger holds; others are read and parsed.
        let cached = self
            .triggers
            .get(&record.job_id)
            .filter(|t| t.version == record.job_version)
            .map(|t| t.spec.clone());
        let parsed = match cached {
            Some(spec) => Ok(spec),
            None => {
                let spec_text = self
                    .store
                    .job_version_spec(record.job_id, record.job_version)
                    .await?;
                parse_job_spec(&spec_text, SpecFormat::Json)
            }
        };
        let spec = match parsed {
            Ok(spec) => spec,
            Err(errors) => {
                tracing::error!(run = %record.id, %errors, "stored spec no longer parses; failing the run");
                self.run_updates.push(RunUpdate {
                    id: record.id,
                    state: RunState::Failed,
                    started_at: record.started_at.or(Some(now)),
                    finished_at: Some(now),
                });
                return Ok(());
            }
        };
        if let Some(backfill) = record.backfill_id
            && !self.backfill_parallelism.contains_key(&backfill)
        {
            let parallelism = self.store.backfill_parallelism(backfill).await?;
            self.backfill_parallelism.insert(backfill, parallelism);
        }
        let stored = self.store.run_tasks(record.id).await?;
        let dag = Dag::from_spec(&spec);
        let mut latest: Vec<Option<TaskRecord>> = vec![None; dag.len()];
        let mut mapped: BTreeMap<usize, Vec<TaskRecord>> = BTreeMap::new();
        for task in stored {
            let idx = task.task_idx as usize;
            if let Some(map) = task.map_index {
                let instances = mapped.entry(idx).or_default();
                let map = map as usize;
                if instances.len() <= map {
                    instances
                        .resize_with(map + 1, || TaskRecord::pending(record.id, "", idx as u32));
                }
                if let Some(slot) = instances.get_mut(map)
                    && (slot.task_name.is_empty() || slot.attempt < task.attempt)
                {
                    *slot = task;
                }
                continue;
            }
            if let Some(slot) = latest.get_mut(idx)
                && slot.as_ref().is_none_or(|t| t.attempt < task.attempt)
            {
                *slot = Some(task);
            }
        }
        let tasks: Vec<TaskRecord> = latest
            .into_iter()
            .enumerate()
            .map(|(idx, task)| {
                task.unwrap_or_else(|| TaskRecord::pending(record.id, dag.name(idx), idx as u32))
            })
            .collect();
        let mut params = spec
            .params
            .clone()
            .into_iter()
            .collect::<serde_json::Map<_, _>>();
        for (key, value) in &record.params {
            params.insert(key.clone(), value.clone());
        }
        let id = record.id;
        let shape = shape_of(&spec, &dag);
        // A run already running when taken up (after a restart) keeps its deadline.
        let deadline = record
            .started_at
            .zip(
                spec.timeout
                    .and_then(|t| chrono::Duration::from_std(t.0).ok()),
            )
            .map(|(started, limit)| started + limit);
        let run = ActiveRun {
            record,
            shape,
            deadline,
            spec,
            dag,
            params,
            tasks,
            mapped,
            fanout_items: BTreeMap::new(),
        };
        let slots = run.slots();
        self.runs.insert(id, run);
        for slot in slots {
            let idx = slot.idx;
            let Some(run) = self.runs.get(&id) else { break };
            let state = run.record(slot).map(|t| t.state);
            let child = run
                .record(slot)
                .and_then(|t| t.outputs.get("run_id"))
                .and_then(|c| c.parse::<i64>().ok())
                .map(RunId);
            let is_fanout = slot.map.is_none()
                && run
                    .spec
                    .tasks
                    .get(idx)
                    .is_some_and(|t| t.for_each.is_some());
            if is_fanout {
                // A fan-out's own record follows its instances, settled below.
                continue;
            }
            match (state, child) {
                // A sub-workflow lives on as its child run: follow it, don't retry it.
                (Some(s), Some(child)) if s.is_on_worker() => {
                    let child_state = self.store.get_run(child).await?.map(|r| r.state);
                    match child_state {
                        Some(RunState::Success) => {
                            let end = AttemptEnd {
                                event: TaskEvent::Succeed,
                                error: None,
                                finished_at: None,
                            };
                            self.end_attempt(id, Slot::task(idx), end, now);
                        }
                        Some(ended) if ended.is_terminal() => {
                            let message = format!("sub-workflow run {child} ended {ended}");
                            self.end_attempt(
                                id,
                                Slot::task(idx),
                                AttemptEnd::decided(TaskEvent::Fail, message),
                                now,
                            );
                        }
                        _ => {}
                    }
                }
                (Some(s), None) if s.is_on_worker() => {
                    let message =
                        "lost: Orrery restarted while this attempt was running".to_owned();
                    self.end_attempt(id, slot, AttemptEnd::decided(TaskEvent::Lose, message), now);
                }
                (Some(TaskState::Queued), _) => self.make_ready_slot(id, slot),
                _ => {}
            }
        }
        let fanouts: Vec<usize> = self
            .runs
            .get(&id)
            .map(|r| r.mapped.keys().copied().collect())
            .unwrap_or_default();
        self.restore_fanout_items(id);
        for idx in fanouts {
            self.settle_fanout(id, idx, now);
        }
        self.touched.insert(id);
        Ok(())
    }

    /// Takes up a run just created by this driver (a fire), without reading it back.
    pub(crate) fn install_new_run(
        &mut self,
        record: RunRecord,
        spec: JobSpec,
        task_ids: &[TaskInstanceId],
    ) {
        let dag = Dag::from_spec(&spec);
        let tasks = (0..dag.len())
            .map(|idx| {
                let mut task = TaskRecord::pending(record.id, dag.name(idx), idx as u32);
                task.id = task_ids.get(idx).copied().filter(|id| id.0 != 0);
                task
            })
            .collect();
        let mut params: serde_json::Map<_, _> = spec.params.clone().into_iter().collect();
        params.extend(record.params.clone());
        let id = record.id;
        let run = ActiveRun {
            shape: shape_of(&spec, &dag),
            record,
            deadline: None,
            spec,
            dag,
            params,
            tasks,
            mapped: BTreeMap::new(),
            fanout_items: BTreeMap::new(),
        };
        self.runs.insert(id, run);
        self.touched.insert(id);
    }

    /// Starts queued runs, oldest first, as far as their job's concurrency allows.
    pub(crate) fn start_waiting_runs(&mut self, now: DateTime<Utc>) {
        let mut waiting: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, run)| run.record.state == RunState::Queued)
            .map(|(id, _)| *id)
            .collect();
        if waiting.is_empty() {
            return;
        }
        waiting.sort();
        // Running runs per job and per backfill, counted once (not per waiting run).
        let mut running_per_job: std::collections::HashMap<orrery_core::ids::JobId, usize> =
            Default::default();
        let mut running_per_backfill: std::collections::HashMap<i64, usize> = Default::default();
        for run in self
            .runs
            .values()
            .filter(|r| r.record.state == RunState::Running)
        {
            match run.record.backfill_id {
                Some(backfill) => *running_per_backfill.entry(backfill).or_default() += 1,
                None => *running_per_job.entry(run.record.job_id).or_default() += 1,
            }
        }
        for id in waiting {
            let Some(run) = self.runs.get(&id) else {
                continue;
            };
            let allowed = match run.record.backfill_id {
                // Backfills are paced by their own parallelism, not the schedule's policy.
                Some(backfill) => {
                    let limit = self
                        .backfill_parallelism
                        .get(&backfill)
                        .copied()
                        .unwrap_or(1);
                    let running = running_per_backfill.entry(backfill).or_default();
                    let allowed = *running < limit as usize;
                    if allowed {
                        *running += 1;
                    }
                    allowed
                }
                None => {
                    let (policy, max_active_runs) = concurrency_of(&run.spec);
                    let running = running_per_job.entry(run.record.job_id).or_default();
                    let allowed = may_start(policy, *running, max_active_runs);
                    if allowed {
                        *running += 1;
                    }
                    allowed
                }
            };
            if !allowed {
                continue;
            }
            let Some(run) = self.runs.get_mut(&id) else {
                continue;
            };
            let Ok(next) = run.record.state.on(RunEvent::Start) else {
                continue;
            };
            run.record.state = next;
            run.record.started_at = Some(now);
            run.deadline = run
                .spec
                .timeout
                .and_then(|t| chrono::Duration::from_std(t.0).ok())
                .map(|t| now + t);
            self.run_updates.push(RunUpdate {
                id,
                state: next,
                started_at: Some(now),
                finished_at: None,
            });
            self.touched.insert(id);
        }
    }

    /// Cancels every unfinished task of a run and the run itself; workers holding an
    /// attempt are told to kill it, and its late result will be rejected.
    pub(crate) fn cancel_run(&mut self, id: RunId) {
        self.stop_run(id, RunEvent::Cancel, None);
    }

    /// Fails runs that passed their job's `timeout`, cancelling what still runs.
    pub(crate) fn enforce_deadlines(&mut self, now: DateTime<Utc>) {
        let overdue: Vec<RunId> = self
            .runs
            .iter()
            .filter(|(_, run)| {
                run.record.state == RunState::Running && run.deadline.is_some_and(|d| d <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            let limit = self
                .runs
                .get(&id)
                .and_then(|run| run.spec.timeout)
                .map(|t| t.to_string())
                .unwrap_or_default();
            self.stop_run(
                id,
                RunEvent::Fail,
                Some(format!("the run timed out after {limit}")),
            );
        }
    }

    /// Ends a run with `event` (cancel, or fail on timeout): every unfinished task is
    /// cancelled (with `reason`), child runs too.
    fn stop_run(&mut self, id: RunId, event: RunEvent, reason: Option<String>) {
        let now = self.clock.now();
        let Some(run) = self.runs.get_mut(&id) else {
            return;
        };
        let Ok(next) = run.record.state.on(event) else {
            return;
        };
        let mut children = Vec::new();
        for slot in run.slots() {
            let Some(task) = run.record_mut(slot) else {
                continue;
            };
            let Ok(cancelled) = task.state.on(TaskEvent::Cancel) else {
                continue;
            };
            if task.state.is_on_worker()
                && let Some(task_instance_id) = task.id
            {
                if let Some((_, _, connection)) = self.assigned.get(&task_instance_id) {
                    let task_ref = TaskRef {
                        task_instance_id,
                        attempt: task.attempt,
                        fence: task.fence,
                    };
                    self.outbox
                        .push((*connection, SchedulerMessage::Cancel(task_ref)));
                }
                if let Some(child) = task
                    .outputs
                    .get("run_id")
                    .and_then(|c| c.parse::<i64>().ok())
                {
                    children.push(RunId(child));
                }
            }
            task.state = cancelled;
            task.finished_at = Some(now);
            task.retry_at = None;
            if reason.is_some() {
                task.error.clone_from(&reason);
            }
            self.dirty.insert((id, slot));
        }
        self.run_updates.push(run.end(next, now));
        self.finished_runs.push(id);
        for child in children {
            self.stop_run(
                child,
                RunEvent::Cancel,
                Some(format!("its parent run {id} ended")),
            );
        }
    }

    /// Ends the attempt at `(run, idx)` with `event`; when it failed and retries
    /// remain, a new attempt is created waiting for its retry time.
    pub(crate) fn end_attempt(
        &mut self,
        id: RunId,
        slot: Slot,
        end: AttemptEnd,
        now: DateTime<Utc>,
    ) {
        let AttemptEnd {
            event,
            error,
            finished_at,
        } = end;
        let Some(run) = self.runs.get_mut(&id) else {
            return;
        };
        let Some(task_spec) = run.spec.tasks.get(slot.idx).cloned() else {
            return;
        };
        let jitter = jitter_unit(id, slot.idx + slot.map.map_or(0, |m| m as usize + 1) * 7919);
        let Some(task) = run.record_mut(slot) else {
            return;
        };
        let Ok(next) = task.state.on(event) else {
            tracing::warn!(run = %id, task = %task.task_name, from = %task.state, ?event, "ignored impossible transition");
            return;
        };
        task.state = next;
        metrics::counter!("orrery_task_attempts_total", "state" => next.as_str()).increment(1);
        task.finished_at = Some(finished_at.unwrap_or(now));
        if error.is_some() {
            task.error = error;
        }
        self.dirty.insert((id, slot));
        self.touched.insert(id);
        let retry_delay = retry_delay_for(&task_spec, task.attempt, jitter);
        if retries_on(&task_spec, next)
            && let Some(retry_at) = next_retry_at(task.attempt, task_spec.retries, retry_delay, now)
        {
            let mut retry = TaskRecord::pending(id, &task.task_name, task.task_idx);
            retry.map_index = task.map_index;
            retry.attempt = task.attempt + 1;
            retry.state = TaskState::RetryWait;
            retry.retry_at = Some(retry_at);
            let finished = std::mem::replace(task, retry);
            self.retired.push(finished);
        } else if slot.map.is_some() {
            self.settle_fanout(id, slot.idx, now);
        }
    }
}

/// A number in [0, 1) that differs per run and task, for retry jitter: spreading
/// retries only needs them not to coincide, not randomness.
fn jitter_unit(id: RunId, idx: usize) -> f64 {
    let mut x = (id.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (idx as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}
