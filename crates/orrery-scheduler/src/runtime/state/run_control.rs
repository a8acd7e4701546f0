//! Run control in the driver: starting queued runs as concurrency allows, cancelling,
//! deadlines, and ending attempts (with retries).

use super::SchedulerState;
use super::active_run::Slot;
use super::alerts::{run_alert, task_alert};
use super::job_trigger::concurrency_of;
use super::run_index::PaceKey;
use crate::engine::{may_start, next_retry_at};
use chrono::{DateTime, Utc};
use orrery_alerts::AlertName;
use orrery_core::ids::RunId;
use orrery_core::retry::{retries_on, retry_delay_for};
use orrery_core::state::{RunEvent, RunState, TaskEvent, TaskState};
use orrery_proto::{SchedulerMessage, TaskRef};
use orrery_store::RunUpdate;
use orrery_store::records::TaskRecord;

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

impl SchedulerState {
    /// Starts queued runs, oldest first, as far as their job's concurrency (or their
    /// backfill's parallelism) allows. Only jobs and backfills where something changed
    /// are looked at (see `RunIndex`).
    pub(crate) fn start_waiting_runs(&mut self, now: DateTime<Utc>) {
        let lead = self.max_ahead();
        for key in self.runs.index.take_reconsider() {
            while let Some(id) = self.runs.index.first_waiting(key) {
                let Some(run) = self
                    .runs
                    .map
                    .get(&id)
                    .filter(|run| run.record.state == RunState::Queued)
                else {
                    self.runs.index.forget_waiting(key, id);
                    continue;
                };
                // A run made ahead of its time starts at most `max_ahead` early, and
                // then only on paper: its start is its fire time, and its worker holds
                // its first tasks until then (see `dispatch`).
                let not_before = run.record.scheduled_at.filter(|at| *at > now);
                if let Some(at) = not_before.filter(|at| *at > now + lead) {
                    self.runs.index.alarm(at - lead, id);
                    break;
                }
                let running = self.runs.index.running(key);
                let allowed = match key {
                    // Backfills are paced by their own parallelism, not the schedule's
                    // policy.
                    PaceKey::Backfill(backfill) => {
                        let limit = self
                            .runs
                            .backfill_parallelism
                            .get(&backfill)
                            .copied()
                            .unwrap_or(1);
                        running < limit as usize
                    }
                    PaceKey::Job(_) => {
                        let (policy, max_active_runs) = concurrency_of(&run.spec);
                        may_start(policy, running, max_active_runs)
                    }
                };
                if !allowed {
                    break;
                }
                let started_at = not_before.unwrap_or(now);
                self.start_run(id, started_at);
                self.runs.index.started(key, id);
            }
        }
    }

    /// Moves a waiting run to running as of `started_at`.
    fn start_run(&mut self, id: RunId, started_at: DateTime<Utc>) {
        let Some(run) = self.runs.map.get_mut(&id) else {
            return;
        };
        let Ok(next) = run.record.state.on(RunEvent::Start) else {
            return;
        };
        run.record.state = next;
        run.record.started_at = Some(started_at);
        run.deadline = run
            .spec
            .timeout
            .and_then(|t| chrono::Duration::from_std(t.0).ok())
            .map(|t| started_at + t);
        if let Some(deadline) = run.deadline {
            self.runs.index.alarm(deadline, id);
        }
        run.sla_due = run
            .spec
            .sla
            .as_ref()
            .and_then(|sla| sla.duration_deadline(started_at));
        if let Some(due) = run.sla_due {
            self.runs.index.alarm(due, id);
        }
        self.pending.run_updates.push(RunUpdate {
            id,
            state: next,
            started_at: Some(started_at),
            finished_at: None,
        });
        self.runs.touched.insert(id);
    }

    /// Cancels every unfinished task of a run and the run itself; workers holding an
    /// attempt are told to kill it, and its late result will be rejected.
    pub(crate) fn cancel_run(&mut self, id: RunId, now: DateTime<Utc>) {
        self.stop_run(id, RunEvent::Cancel, None, now);
    }

    /// Fails runs that passed their job's `timeout`, cancelling what still runs.
    pub(crate) fn enforce_deadlines(&mut self, now: DateTime<Utc>, due: &[RunId]) {
        let overdue: Vec<RunId> = due
            .iter()
            .copied()
            .filter(|id| {
                self.runs.map.get(id).is_some_and(|run| {
                    run.record.state == RunState::Running && run.deadline.is_some_and(|d| d <= now)
                })
            })
            .collect();
        for id in overdue {
            let limit = self
                .runs
                .map
                .get(&id)
                .and_then(|run| run.spec.timeout)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let reason = format!("the run timed out after {limit}");
            if let Some(run) = self.runs.map.get(&id) {
                let event = run_alert(run, AlertName::RunTimedOut, Some(&reason), now);
                self.pending.alerts.push(event);
            }
            self.stop_run(id, RunEvent::Fail, Some(reason), now);
        }
    }

    /// Ends a run with `event` (cancel, or fail on timeout): every unfinished task is
    /// cancelled (with `reason`), child runs too.
    fn stop_run(&mut self, id: RunId, event: RunEvent, reason: Option<String>, now: DateTime<Utc>) {
        let Some(run) = self.runs.map.get_mut(&id) else {
            return;
        };
        let Ok(next) = run.record.state.on(event) else {
            return;
        };
        let was_running = run.record.state == RunState::Running;
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
                if let Some((_, _, connection)) = self.fleet.assigned.get(&task_instance_id) {
                    let task_ref = TaskRef {
                        task_instance_id,
                        attempt: task.attempt,
                        fence: task.fence,
                    };
                    self.pending
                        .outbox
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
            self.pending.dirty.insert((id, slot));
        }
        self.pending.run_updates.push(run.end(next, now));
        self.runs.finished.push(id);
        self.runs.index.ended(&run.record, was_running);
        for child in children {
            self.stop_run(
                child,
                RunEvent::Cancel,
                Some(format!("its parent run {id} ended")),
                now,
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
        let Some(run) = self.runs.map.get_mut(&id) else {
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
        self.pending.dirty.insert((id, slot));
        self.runs.touched.insert(id);
        let retry_delay = retry_delay_for(&task_spec, task.attempt, jitter);
        let retries = if next == TaskState::Lost {
            task_spec.retries.max(self.config.lost_retries)
        } else {
            task_spec.retries
        };
        if retries_on(&task_spec, next)
            && let Some(retry_at) = next_retry_at(task.attempt, retries, retry_delay, now)
        {
            let mut retry = TaskRecord::pending(id, &task.task_name, task.task_idx);
            retry.map_index = task.map_index;
            if task_spec.dispatch == orrery_core::spec::DispatchMode::Broadcast {
                // A broadcast shard stays pinned to its worker.
                retry.worker_id.clone_from(&task.worker_id);
            }
            retry.attempt = task.attempt + 1;
            retry.state = TaskState::RetryWait;
            retry.retry_at = Some(retry_at);
            let finished = std::mem::replace(task, retry);
            if run.spec.alerts.as_ref().is_some_and(|a| a.retrying) {
                let event = task_alert(run, &finished, AlertName::TaskRetrying, now);
                self.pending.alerts.push(event);
            }
            self.pending.retired.push(finished);
            self.runs.index.alarm(retry_at, id);
        } else {
            if matches!(
                next,
                TaskState::Failed | TaskState::TimedOut | TaskState::Lost
            ) && let Some(task) = run.record(slot)
            {
                let event = task_alert(run, task, AlertName::TaskFailed, now);
                self.pending.alerts.push(event);
            }
            if slot.map.is_some() {
                self.settle_fanout(id, slot.idx, now);
            }
        }
    }
}
