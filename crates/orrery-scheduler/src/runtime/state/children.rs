//! Sub-workflows as the state decides them: a `type: job` task's child run is planned
//! (job, rendered params), followed, and ends the task with its outcome; cancelling
//! the parent cancels the child.

use super::SchedulerState;
use super::active_run::Slot;
use super::render::template_context;
use super::run_control::AttemptEnd;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::spec::TaskKind;
use orrery_core::state::{RunState, TaskEvent};
use orrery_core::template::render_value;

/// A child run to start for a sub-workflow task.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChildPlan {
    pub(crate) project: String,
    pub(crate) job: String,
    /// The task's `params:`, rendered.
    pub(crate) params: serde_json::Map<String, serde_json::Value>,
    /// The parent run and the task attempt that starts the child.
    pub(crate) parent: (RunId, TaskInstanceId),
}

impl SchedulerState {
    /// What starting the child run of sub-workflow task `idx` of `run_id` takes: its
    /// job and its params rendered in the task's context.
    pub(crate) fn plan_child(&self, run_id: RunId, idx: usize) -> Result<ChildPlan, String> {
        let run = self.runs.map.get(&run_id).ok_or("the parent run is gone")?;
        let spec = run
            .spec
            .tasks
            .get(idx)
            .ok_or("the task is not in the spec")?;
        let TaskKind::Job { job, params } = &spec.kind else {
            return Err(format!("task {:?} is not a sub-workflow", spec.name));
        };
        let task = run.tasks.get(idx).ok_or("the task has no attempt")?;
        let task_id = task.id.ok_or("the task attempt is not stored yet")?;
        let context = template_context(run, idx, task.attempt, &self.render_options());
        let mut child_params = serde_json::Map::new();
        for (key, value) in params {
            let value = match value {
                serde_json::Value::String(text) => render_value(text, &context).map_err(|e| {
                    format!("cannot render params.{key} of task {:?}: {e}", spec.name)
                })?,
                other => other.clone(),
            };
            child_params.insert(key.clone(), value);
        }
        Ok(ChildPlan {
            project: run.record.project.clone(),
            job: job.clone(),
            params: child_params,
            parent: (run_id, task_id),
        })
    }

    /// Records how starting the child run of task `idx` of `run_id` went: the task
    /// runs while the child does, or fails with why the child could not start.
    pub(crate) fn child_started(
        &mut self,
        run_id: RunId,
        idx: usize,
        started: Result<RunId, String>,
        now: DateTime<Utc>,
    ) {
        let Some(task) = self
            .runs
            .map
            .get_mut(&run_id)
            .and_then(|r| r.tasks.get_mut(idx))
        else {
            return;
        };
        match started {
            Ok(child) => {
                for event in [TaskEvent::Assign, TaskEvent::Start] {
                    if let Ok(next) = task.state.on(event) {
                        task.state = next;
                    }
                }
                task.worker = Some("sub-workflow".to_owned());
                task.started_at = Some(now);
                task.outputs
                    .insert("run_id".to_owned(), child.0.to_string());
                self.pending.dirty.insert((run_id, Slot::task(idx)));
                self.pending.new_runs_pending = true;
            }
            Err(message) => {
                if let Ok(next) = task.state.on(TaskEvent::Fail) {
                    task.state = next;
                    task.finished_at = Some(now);
                    task.error = Some(message);
                    self.pending.dirty.insert((run_id, Slot::task(idx)));
                    self.runs.touched.insert(run_id);
                }
            }
        }
    }

    /// Ends the parent tasks of child runs that ended.
    pub(crate) fn settle_children(&mut self, now: DateTime<Utc>) {
        for child in std::mem::take(&mut self.runs.finished) {
            let Some(run) = self.runs.map.get(&child) else {
                continue;
            };
            let (Some(parent), Some(task_id)) =
                (run.record.parent_run_id, run.record.parent_task_id)
            else {
                continue;
            };
            let state = run.record.state;
            let Some(parent_run) = self.runs.map.get(&parent) else {
                continue;
            };
            let Some(idx) = parent_run
                .tasks
                .iter()
                .position(|t| t.id == Some(task_id) && t.state.is_on_worker())
            else {
                continue;
            };
            let end = match state {
                RunState::Success => AttemptEnd {
                    event: TaskEvent::Succeed,
                    error: None,
                    finished_at: None,
                },
                other => AttemptEnd::decided(
                    TaskEvent::Fail,
                    format!("sub-workflow run {child} ended {other}"),
                ),
            };
            self.end_attempt(parent, Slot::task(idx), end, now);
        }
    }
}
