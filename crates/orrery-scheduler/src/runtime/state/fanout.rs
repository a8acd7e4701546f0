//! Dynamic fan-out: a task with `for_each` expands into one mapped instance per item
//! (`name[i]`, seeing `item` and `index`), at most `max_parallel` running at once; its
//! own record stands for all of them and ends when they all did. A `dispatch:
//! broadcast` task expands the same way, one shard per matching worker, each pinned to
//! its worker.

use super::SchedulerState;
use super::active_run::{ActiveRun, Slot};
use super::render::{RenderOptions, template_context};
use super::session::group_name;
use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_core::spec::{DispatchMode, ForEach, TaskSpec};
use orrery_core::state::{TaskEvent, TaskState};
use orrery_core::template::eval_expression;
use orrery_store::records::TaskRecord;

/// Whether a task expands into mapped instances (fan-out or broadcast).
pub(crate) fn expands(task: &TaskSpec) -> bool {
    task.for_each.is_some() || task.dispatch == DispatchMode::Broadcast
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

impl SchedulerState {
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
        let targets = self.broadcast_targets(id, idx)?;
        let run = self.runs.map.get_mut(&id).ok_or("the run is gone")?;
        let items = match &targets {
            Some(workers) => workers
                .iter()
                .map(|w| serde_json::Value::String(w.clone()))
                .collect(),
            None => fanout_items(run, idx, &options)?,
        };
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
                // A broadcast shard is pinned to its worker by this id.
                record.worker_id = targets.as_ref().and_then(|t| t.get(i).cloned());
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
        self.pending.dirty.insert((id, Slot::task(idx)));
        for i in 0..n {
            let slot = Slot::mapped(idx, i as u32);
            self.pending.dirty.insert((id, slot));
            self.make_ready_slot(id, slot);
        }
        self.settle_fanout(id, idx, now);
        Ok(())
    }

    /// Ends a fan-out task once every mapped instance ended: success when they all
    /// succeeded (or were skipped), failure naming how many did not.
    pub(crate) fn settle_fanout(&mut self, id: RunId, idx: usize, now: DateTime<Utc>) {
        let Some(run) = self.runs.map.get_mut(&id) else {
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
            self.pending.dirty.insert((id, Slot::task(idx)));
            self.runs.touched.insert(id);
        }
    }

    /// Recomputes the items of expanded fan-outs after a restart (they are not stored;
    /// they follow from params and upstream outputs, which are).
    pub(crate) fn restore_fanout_items(&mut self, id: RunId) {
        let options = self.render_options();
        let Some(run) = self.runs.map.get_mut(&id) else {
            return;
        };
        let expanded: Vec<usize> = run.mapped.keys().copied().collect();
        for idx in expanded {
            if run
                .spec
                .tasks
                .get(idx)
                .is_some_and(|t| t.dispatch == DispatchMode::Broadcast)
            {
                // Shards keep their worker on their own records.
                let items = run.mapped.get(&idx).map_or_else(Vec::new, |shards| {
                    shards
                        .iter()
                        .map(|s| serde_json::Value::String(s.worker_id.clone().unwrap_or_default()))
                        .collect()
                });
                run.fanout_items.insert(idx, items);
                continue;
            }
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
        let Some(run) = self.runs.map.get_mut(&id) else {
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
            self.pending.dirty.insert((id, slot));
            self.make_ready_slot(id, slot);
        }
    }

    /// For a broadcast task, the stable ids of the workers it runs on: every connected
    /// worker that matches its group and labels and could fit it. `None` for others.
    fn broadcast_targets(&self, id: RunId, idx: usize) -> Result<Option<Vec<String>>, String> {
        let run = self.runs.map.get(&id).ok_or("the run is gone")?;
        let spec = run.spec.tasks.get(idx).ok_or("the task is gone")?;
        if spec.dispatch != DispatchMode::Broadcast {
            return Ok(None);
        }
        let group = group_name(spec.worker.group.as_deref().unwrap_or_default());
        let mut targets: Vec<String> = self
            .fleet
            .sessions
            .values()
            .filter(|s| s.accepts_work() && s.group == group)
            .filter(|s| {
                spec.worker
                    .labels
                    .iter()
                    .all(|(k, v)| s.labels.get(k) == Some(v))
            })
            .filter(|s| spec.resources.gpus <= s.capacity.gpus)
            .map(|s| s.worker_id.clone())
            .collect();
        targets.sort();
        if targets.is_empty() {
            return Err(format!(
                "broadcast task {:?} has no connected worker in group {group:?} to run on",
                spec.name
            ));
        }
        Ok(Some(targets))
    }
}
