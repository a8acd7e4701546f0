//! Taking runs up: a stored run (attempts on a worker adopted or lost, sub-workflows
//! followed) or one a fire just created, into the active runs.

use super::SchedulerState;
use super::active_run::ActiveRun;
use super::active_run::Slot;
use super::advance::shape_of;
use chrono::{DateTime, Utc};
use orrery_core::dag::Dag;
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::spec::JobSpec;
use orrery_core::state::{RunState, TaskEvent, TaskState};
use orrery_store::records::{RunRecord, TaskRecord};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::run_control::AttemptEnd;

/// A run as read from the store, with what its take-up depends on.
pub(crate) struct StoredRun {
    pub(crate) record: RunRecord,
    pub(crate) spec: Arc<JobSpec>,
    /// Every stored attempt of the run.
    pub(crate) tasks: Vec<TaskRecord>,
    /// The state of each child run a sub-workflow task on a worker follows.
    pub(crate) children: HashMap<RunId, RunState>,
}

/// The child run an attempt of a sub-workflow task follows, while it is on a worker.
pub(crate) fn followed_child(task: &TaskRecord) -> Option<RunId> {
    task.outputs
        .get("run_id")
        .and_then(|c| c.parse::<i64>().ok())
        .map(RunId)
        .filter(|_| task.state.is_on_worker())
}

impl SchedulerState {
    /// Takes up a run this process's API handed over, unless the driver already read
    /// it from the store (it is then active here, or ended): every run up to
    /// `seen_up_to` was read. True when it was taken up.
    pub(crate) fn take_handed(&mut self, run: crate::runtime::handoff::HandedRun) -> bool {
        let id = run.record.id;
        if id <= self.runs.seen_up_to || self.runs.map.contains_key(&id) {
            return false;
        }
        self.install_new_run(run.record, run.spec, &run.task_ids);
        true
    }

    /// Takes up a run read from the store. Attempts it finds on a worker were held by
    /// an earlier life of the scheduler: adopted by their worker's session (which may
    /// come back within its TTL), or lost and retried by their policy; a sub-workflow
    /// task follows its child run.
    pub(crate) fn take_up(&mut self, stored: StoredRun, now: DateTime<Utc>) {
        let dag = Dag::from_spec(&stored.spec);
        let run_id = stored.record.id;
        let (own, instances): (Vec<TaskRecord>, Vec<TaskRecord>) = stored
            .tasks
            .into_iter()
            .partition(|task| task.map_index.is_none());
        let mut mapped: BTreeMap<usize, Vec<TaskRecord>> = BTreeMap::new();
        for task in instances {
            let idx = task.task_idx as usize;
            let map = task.map_index.unwrap_or_default() as usize;
            let instances = mapped.entry(idx).or_default();
            if instances.len() <= map {
                instances.resize_with(map + 1, || TaskRecord::pending(run_id, "", idx as u32));
            }
            if let Some(slot) = instances.get_mut(map)
                && (slot.task_name.is_empty() || slot.attempt < task.attempt)
            {
                *slot = task;
            }
        }
        let latest = orrery_core::rerun::latest_attempts(
            dag.len(),
            own.iter()
                .map(|task| (task.task_idx as usize, task.attempt)),
        );
        let mut own: Vec<Option<TaskRecord>> = own.into_iter().map(Some).collect();
        let tasks: Vec<TaskRecord> = latest
            .into_iter()
            .enumerate()
            .map(|(idx, position)| {
                position
                    .and_then(|p| own.get_mut(p).and_then(Option::take))
                    .unwrap_or_else(|| TaskRecord::pending(run_id, dag.name(idx), idx as u32))
            })
            .collect();
        let spec = stored.spec;
        let record = stored.record;
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
        let sla_due = record
            .started_at
            .zip(spec.sla.as_ref())
            .and_then(|(started, sla)| sla.duration_deadline(started));
        let run = ActiveRun {
            record,
            shape,
            deadline,
            sla_due,
            sla_raised: false,
            spec,
            dag,
            params,
            tasks,
            mapped,
            fanout_items: BTreeMap::new(),
        };
        let slots = run.slots();
        self.runs.map.insert(id, run);
        self.index_run(id);
        for slot in slots {
            let idx = slot.idx;
            let Some(run) = self.runs.map.get(&id) else {
                break;
            };
            let state = run.record(slot).map(|t| t.state);
            let child = run
                .record(slot)
                .and_then(|t| t.outputs.get("run_id"))
                .and_then(|c| c.parse::<i64>().ok())
                .map(RunId);
            let is_fanout =
                slot.map.is_none() && run.spec.tasks.get(idx).is_some_and(super::fanout::expands);
            if is_fanout {
                // A fan-out's own record follows its instances, settled below.
                continue;
            }
            match (state, child) {
                // A sub-workflow lives on as its child run: follow it, don't retry it.
                (Some(s), Some(child)) if s.is_on_worker() => {
                    match stored.children.get(&child).copied() {
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
                (Some(s), None)
                    if s.is_on_worker()
                    // The worker may still run it: wait for it to come back within its
                    // TTL (it then says what it holds) before calling the attempt lost.
                    && !self.adopt_attempt(id, slot, now) =>
                {
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
            .map
            .get(&id)
            .map(|r| r.mapped.keys().copied().collect())
            .unwrap_or_default();
        self.restore_fanout_items(id);
        for idx in fanouts {
            self.settle_fanout(id, idx, now);
        }
        self.runs.touched.insert(id);
    }

    /// Takes up a run just created by this driver (a fire), without reading it back.
    pub(crate) fn install_new_run(
        &mut self,
        record: RunRecord,
        spec: Arc<JobSpec>,
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
            sla_due: None,
            sla_raised: false,
            spec,
            dag,
            params,
            tasks,
            mapped: BTreeMap::new(),
            fanout_items: BTreeMap::new(),
        };
        self.runs.map.insert(id, run);
        self.index_run(id);
        self.runs.touched.insert(id);
    }
}
