//! Applying the engine's decisions to touched runs: branch choices, `when`
//! conditions, enqueueing, skipping and finishing runs.

use super::SchedulerState;
use super::active_run::ActiveRun;
use super::active_run::Slot;
use super::alerts::{failed_task_error, resolve_job_alerts, run_alert};
use super::render::{RenderOptions, template_context};
use crate::engine::{Decision, Rule, RunShape, advance_run_with};
use chrono::{DateTime, Utc};
use orrery_alerts::AlertName;
use orrery_core::dag::Dag;
use orrery_core::ids::RunId;
use orrery_core::spec::{JobSpec, TaskKind, TriggerRule};
use orrery_core::state::{RunEvent, RunState, TaskEvent, TaskState};
use orrery_core::template::eval_condition;

/// Rounds of advancing in one tick: a skipped condition can unblock more tasks.
const MAX_ROUNDS: usize = 16;

/// The engine's view of a job's rules and handlers.
pub(crate) fn shape_of(spec: &JobSpec, dag: &Dag) -> RunShape {
    RunShape {
        rules: spec.tasks.iter().map(|t| rule_of(t.trigger_rule)).collect(),
        branch_choices: vec![None; spec.tasks.len()],
        on_failure: spec
            .on_failure
            .as_deref()
            .and_then(|name| dag.index_of(name)),
        on_success: spec
            .on_success
            .as_deref()
            .and_then(|name| dag.index_of(name)),
    }
}

fn rule_of(rule: TriggerRule) -> Rule {
    match rule {
        TriggerRule::AllSuccess => Rule::AllSuccess,
        TriggerRule::AllDone => Rule::AllDone,
        TriggerRule::AllFailed => Rule::AllFailed,
        TriggerRule::OneSuccess => Rule::OneSuccess,
        TriggerRule::OneFailed => Rule::OneFailed,
        TriggerRule::NoneFailed => Rule::NoneFailed,
        TriggerRule::NoneFailedMinOneSuccess => Rule::NoneFailedMinOneSuccess,
    }
}

/// A branch task that succeeded chose the downstream tasks named in its `next`
/// output (comma-separated); without one it chose none.
fn refresh_branch_choices(run: &mut ActiveRun) {
    for (idx, spec) in run.spec.tasks.iter().enumerate() {
        if !matches!(spec.kind, TaskKind::Branch { .. }) {
            continue;
        }
        let Some(task) = run.tasks.get(idx) else {
            continue;
        };
        let choice = (task.state == TaskState::Success).then(|| {
            task.outputs
                .get("next")
                .map(|next| {
                    next.split(',')
                        .map(str::trim)
                        .filter_map(|name| run.dag.index_of(name))
                        .collect()
                })
                .unwrap_or_default()
        });
        if let Some(slot) = run.shape.branch_choices.get_mut(idx) {
            *slot = choice;
        }
    }
}

/// Evaluates the task's `when:`; a condition that cannot be evaluated fails the task
/// with the reason.
fn condition(run: &ActiveRun, idx: usize, options: &RenderOptions) -> Result<bool, String> {
    let Some(spec) = run.spec.tasks.get(idx) else {
        return Ok(true);
    };
    let Some(expression) = &spec.when else {
        return Ok(true);
    };
    let attempt = run.tasks.get(idx).map_or(1, |t| t.attempt);
    let context = template_context(run, idx, attempt, options);
    eval_condition(expression, &context)
        .map_err(|e| format!("cannot evaluate `when` of task {:?}: {e}", spec.name))
}

impl SchedulerState {
    /// Everything time and the last events decided, before dispatch: silent workers
    /// are lost, due retries, deadlines and fire times are taken, waiting runs start,
    /// touched runs advance and child runs that ended settle their parents' tasks.
    pub(crate) fn advance(&mut self, now: DateTime<Utc>) {
        self.check_liveness(now);
        let due = self.take_due_alarms(now);
        self.enforce_deadlines(now, &due);
        self.enforce_max_duration(now, &due);
        self.start_waiting_runs(now);
        self.advance_touched(now);
        self.settle_children(now);
        self.advance_touched(now);
    }

    /// Applies the engine's decisions to every touched run, until nothing changes.
    pub(crate) fn advance_touched(&mut self, now: DateTime<Utc>) {
        for _ in 0..MAX_ROUNDS {
            let touched = std::mem::take(&mut self.runs.touched);
            if touched.is_empty() {
                return;
            }
            for id in touched {
                self.advance_one(id, now);
            }
        }
    }

    fn advance_one(&mut self, id: RunId, now: DateTime<Utc>) {
        self.requeue_due_mapped(id, now);
        let mut fanouts = Vec::new();
        self.advance_decisions(id, now, &mut fanouts);
        for idx in fanouts {
            if let Err(message) = self.expand_fanout(id, idx, now)
                && let Some(task) = self
                    .runs
                    .map
                    .get_mut(&id)
                    .and_then(|r| r.tasks.get_mut(idx))
                && let Ok(next) = task.state.on(TaskEvent::Fail)
            {
                task.state = next;
                task.finished_at = Some(now);
                task.error = Some(message);
                self.pending.dirty.insert((id, Slot::task(idx)));
            }
            self.runs.touched.insert(id);
        }
    }

    /// Carries out the engine's decisions for one run; fan-out tasks that may start
    /// are left in `fanouts` for expansion.
    fn advance_decisions(&mut self, id: RunId, now: DateTime<Utc>, fanouts: &mut Vec<usize>) {
        let options = self.render_options();
        let Some(run) = self.runs.map.get_mut(&id) else {
            return;
        };
        if run.record.state != RunState::Running {
            return;
        }
        refresh_branch_choices(run);
        for decision in advance_run_with(&run.dag, &run.views(), now, &run.shape) {
            match decision {
                Decision::Enqueue(idx) => {
                    let verdict = condition(run, idx, &options);
                    let is_fanout = run.spec.tasks.get(idx).is_some_and(super::fanout::expands);
                    if is_fanout && matches!(verdict, Ok(true)) {
                        fanouts.push(idx);
                        continue;
                    }
                    let Some(task) = run.tasks.get_mut(idx) else {
                        continue;
                    };
                    let event = match &verdict {
                        Ok(true) => TaskEvent::Enqueue,
                        Ok(false) => TaskEvent::Skip,
                        Err(_) => TaskEvent::Fail,
                    };
                    let Ok(next) = task.state.on(event) else {
                        continue;
                    };
                    task.state = next;
                    self.pending.dirty.insert((id, Slot::task(idx)));
                    match verdict {
                        Ok(true) => {
                            task.queued_at = Some(now);
                            let priority = run.spec.tasks.get(idx).map_or(0, |t| t.priority);
                            self.runs.ready.push(id, Slot::task(idx), priority);
                        }
                        Ok(false) => {
                            task.finished_at = Some(now);
                            task.error = Some("skipped: its `when` condition is false".to_owned());
                            self.runs.touched.insert(id);
                        }
                        Err(message) => {
                            task.finished_at = Some(now);
                            task.error = Some(message);
                            self.runs.touched.insert(id);
                        }
                    }
                }
                Decision::UpstreamFailed(idx) | Decision::Skip(idx) => {
                    let event = match decision {
                        Decision::Skip(_) => TaskEvent::Skip,
                        _ => TaskEvent::UpstreamFail,
                    };
                    if let Some(task) = run.tasks.get_mut(idx)
                        && let Ok(next) = task.state.on(event)
                    {
                        task.state = next;
                        task.finished_at = Some(now);
                        self.pending.dirty.insert((id, Slot::task(idx)));
                    }
                }
                Decision::Finish(outcome) => {
                    let event = if outcome == RunState::Success {
                        RunEvent::Succeed
                    } else {
                        RunEvent::Fail
                    };
                    if let Ok(next) = run.record.state.on(event) {
                        self.pending.run_updates.push(run.end(next, now));
                        self.pending.alerts.push(if next == RunState::Success {
                            resolve_job_alerts(run, now)
                        } else {
                            run_alert(
                                run,
                                AlertName::RunFailed,
                                failed_task_error(run).as_deref(),
                                now,
                            )
                        });
                        self.runs.finished.push(id);
                        self.runs.index.ended(&run.record, true);
                    }
                }
            }
        }
    }
}
