//! The in-memory state of one active run: its spec, DAG, merged params and the
//! latest attempt of each task (and of each mapped instance of a fan-out task).

use crate::engine::{RunShape, TaskView};
use orrery_core::dag::Dag;
use orrery_core::spec::JobSpec;
use orrery_core::state::RunState;
use orrery_store::RunUpdate;
use orrery_store::records::{RunRecord, TaskRecord};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One schedulable unit of a run: a task, or one mapped instance of a fan-out task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Slot {
    pub(crate) idx: usize,
    pub(crate) map: Option<u32>,
}

impl Slot {
    /// An ordinary task (or a fan-out task's own record).
    pub(crate) fn task(idx: usize) -> Self {
        Self { idx, map: None }
    }

    /// Mapped instance `map` of fan-out task `idx`.
    pub(crate) fn mapped(idx: usize, map: u32) -> Self {
        Self {
            idx,
            map: Some(map),
        }
    }
}

/// A run the driver is advancing.
pub(crate) struct ActiveRun {
    pub(crate) record: RunRecord,
    /// Shared with the job's trigger and the job's other runs.
    pub(crate) spec: Arc<JobSpec>,
    pub(crate) dag: Dag,
    /// Job defaults overlaid with the run's own params.
    pub(crate) params: serde_json::Map<String, serde_json::Value>,
    /// Latest attempt of each task, indexed like the spec's tasks. For a fan-out task
    /// this record stands for all its instances (running until they all ended).
    pub(crate) tasks: Vec<TaskRecord>,
    /// Latest attempt of each mapped instance, per fan-out task.
    pub(crate) mapped: BTreeMap<usize, Vec<TaskRecord>>,
    /// The items a fan-out task expanded to (recomputed after a restart).
    pub(crate) fanout_items: BTreeMap<usize, Vec<serde_json::Value>>,
    /// Trigger rules, branch choices and handlers, for the engine.
    pub(crate) shape: RunShape,
    /// When the whole run must have ended (the job's `timeout`).
    pub(crate) deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// When the run passes its job's `sla.max_duration`.
    pub(crate) sla_due: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether this run's `SlaMissed` was raised.
    pub(crate) sla_raised: bool,
}

impl ActiveRun {
    /// The engine's view of the latest attempts.
    pub(crate) fn views(&self) -> Vec<TaskView> {
        self.tasks
            .iter()
            .map(|t| TaskView {
                state: t.state,
                retry_at: t.retry_at,
            })
            .collect()
    }

    /// Moves the run to its final state `next` and says what to store.
    pub(crate) fn end(&mut self, next: RunState, now: chrono::DateTime<chrono::Utc>) -> RunUpdate {
        metrics::counter!("orrery_runs_finished_total", "state" => next.as_str()).increment(1);
        self.record.state = next;
        self.record.finished_at = Some(now);
        RunUpdate {
            id: self.record.id,
            state: next,
            started_at: self.record.started_at,
            finished_at: Some(now),
        }
    }

    /// The latest attempt in `slot`.
    pub(crate) fn record(&self, slot: Slot) -> Option<&TaskRecord> {
        match slot.map {
            None => self.tasks.get(slot.idx),
            Some(map) => self.mapped.get(&slot.idx)?.get(map as usize),
        }
    }

    /// The latest attempt in `slot`, to change.
    pub(crate) fn record_mut(&mut self, slot: Slot) -> Option<&mut TaskRecord> {
        match slot.map {
            None => self.tasks.get_mut(slot.idx),
            Some(map) => self.mapped.get_mut(&slot.idx)?.get_mut(map as usize),
        }
    }

    /// Every latest attempt with its slot: tasks, then mapped instances.
    pub(crate) fn slots(&self) -> Vec<Slot> {
        let tasks = (0..self.tasks.len()).map(Slot::task);
        let mapped = self.mapped.iter().flat_map(|(idx, instances)| {
            (0..instances.len()).map(move |m| Slot::mapped(*idx, m as u32))
        });
        tasks.chain(mapped).collect()
    }
}
