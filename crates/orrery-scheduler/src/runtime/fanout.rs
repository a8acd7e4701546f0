//! Dynamic fan-out: a task with `for_each` expands into one mapped instance per item
//! (`name[i]`, seeing `item` and `index`), at most `max_parallel` running at once; its
//! own record stands for all of them and ends when they all did.

use super::active_run::{ActiveRun, Slot};
use super::driver::Driver;
use super::render::{RenderOptions, template_context};
use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_core::spec::ForEach;
use orrery_core::state::{TaskEvent, TaskState};
use orrery_core::template::eval_expression;
use orrery_store::records::TaskRecord;

impl Driver {
    /// Expands fan-out task `idx` of run `id` into its mapped instances and marks the
    /// task running; an empty list succeeds at once. The error says why the list could
    /// not be had (the task then fails).
    pub(crate) fn expand_fanout(
        &mut self,
        id: RunId,
        idx: usize,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let options = self.render_options();
        let run = self.runs.get_mut(&id).ok_or("the run is gone")?;
        let items = fanout_items(run, idx, &options)?;
        let name = run
            .spec
            .tasks
            .get(idx)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let instances: Vec<TaskRecord> = (0..items.len())
            .map(|i| {
                let mut record = TaskRecord::pending(id, &format!("{name}[{i}]"), idx as u32);
                record.map_index = Some(i as u32);
                record.state = TaskState::Queued;
                record.queued_at = Some(now);
                record
            })
            .collect();
        let n = instances.len();
        run.fanout_items.insert(idx, items);
        run.mapped.insert(idx, instances);
        let task = run.tasks.get_mut(idx).ok_or("the task is gone")?;
        for event in [TaskEvent::Enqueue, TaskEvent::Assign, TaskEvent::Start] {
            if let Ok(next) = task.state.on(event) {
                task.state = next;
            }
        }
        task.worker = Some("fan-out".to_owned());
        task.queued_at = Some(now);
        task.started_at = Some(now);
        task.outputs.insert("count".to_owned(), n.to_string());
        self.dirty.insert((id, Slot::task(idx)));
        for i in 0..n {
            let slot = Slot::mapped(idx, i as u32);
            self.dirty.insert((id, slot));
            self.make_ready_slot(id, slot);
        }
        self.settle_fanout(id, idx, now);
        Ok(())
    }

    /// Ends a fan-out task once every mapped instance ended: success when they all
    /// succeeded (or were skipped), failure naming how many did not.
    pub(crate) fn settle_fanout(&mut self, id: RunId, idx: usize, now: DateTime<Utc>) {
        let Some(run) = self.runs.get_mut(&id) else {
            return;
        };
        let Some(instances) = run.mapped.get(&idx) else {
            return;
        };
        if !instances.iter().all(|t| t.state.is_terminal()) {
            return;
        }
        let failed = instances
            .iter()
            .filter(|t| !matches!(t.state, TaskState::Success | TaskState::Skipped))
            .count();
        let total = instances.len();
        let Some(task) = run.tasks.get_mut(idx) else {
            return;
        };
        if !task.state.is_on_worker() {
            return;
        }
        let (event, error) = if failed == 0 {
            (TaskEvent::Succeed, None)
        } else {
            (
                TaskEvent::Fail,
                Some(format!(
                    "{failed} of {total} mapped instances did not succeed"
                )),
            )
        };
        if let Ok(next) = task.state.on(event) {
            task.state = next;
            task.finished_at = Some(now);
            task.error = error;
            self.dirty.insert((id, Slot::task(idx)));
            self.touched.insert(id);
        }
    }

    /// Recomputes the items of expanded fan-outs after a restart (they are not stored;
    /// they follow from params and upstream outputs, which are).
    pub(crate) fn restore_fanout_items(&mut self, id: RunId) {
        let options = self.render_options();
        let Some(run) = self.runs.get_mut(&id) else {
            return;
        };
        let expanded: Vec<usize> = run.mapped.keys().copied().collect();
        for idx in expanded {
            match fanout_items(run, idx, &options) {
                Ok(items) => {
                    run.fanout_items.insert(idx, items);
                }
                Err(error) => {
                    tracing::error!(run = %id, task = idx, %error, "cannot recompute fan-out items")
                }
            }
        }
    }

    /// Mapped instances whose retry time has come go back in line.
    pub(crate) fn requeue_due_mapped(&mut self, id: RunId, now: DateTime<Utc>) {
        let Some(run) = self.runs.get_mut(&id) else {
            return;
        };
        let mut due = Vec::new();
        for (idx, instances) in run.mapped.iter_mut() {
            for (map, task) in instances.iter_mut().enumerate() {
                if task.state == TaskState::RetryWait
                    && task.retry_at.is_none_or(|at| at <= now)
                    && let Ok(next) = task.state.on(TaskEvent::Enqueue)
                {
                    task.state = next;
                    task.queued_at = Some(now);
                    due.push(Slot::mapped(*idx, map as u32));
                }
            }
        }
        for slot in due {
            self.dirty.insert((id, slot));
            self.make_ready_slot(id, slot);
        }
    }
}

/// The list a fan-out task maps over: literal, or a template expression that must
/// give a list.
fn fanout_items(
    run: &ActiveRun,
    idx: usize,
    options: &RenderOptions,
) -> Result<Vec<serde_json::Value>, String> {
    let spec = run
        .spec
        .tasks
        .get(idx)
        .ok_or("the task is not in the spec")?;
    match &spec.for_each {
        None => Err(format!("task {:?} has no for_each", spec.name)),
        Some(ForEach::List(items)) => Ok(items.clone()),
        Some(ForEach::Template(expression)) => {
            let context = template_context(run, idx, 1, options);
            match eval_expression(expression, &context) {
                Ok(serde_json::Value::Array(items)) => Ok(items),
                Ok(other) => Err(format!(
                    "for_each of task {:?} must give a list, but gave {}",
                    spec.name,
                    json_kind(&other)
                )),
                Err(e) => Err(format!(
                    "cannot evaluate for_each of task {:?}: {e}",
                    spec.name
                )),
            }
        }
    }
}

fn json_kind(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".to_owned(),
        serde_json::Value::Bool(b) => format!("the boolean {b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(s) => format!("the string {s:?}"),
        serde_json::Value::Array(_) => "a list".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
    }
}
