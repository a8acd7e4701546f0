//! The in-memory state of one active run: its spec, DAG, merged params and the
//! latest attempt of each task.

use crate::engine::{RunShape, TaskView};
use orrery_core::dag::Dag;
use orrery_core::spec::JobSpec;
use orrery_store::records::{RunRecord, TaskRecord};

/// A run the driver is advancing.
pub(crate) struct ActiveRun {
    pub(crate) record: RunRecord,
    pub(crate) spec: JobSpec,
    pub(crate) dag: Dag,
    /// Job defaults overlaid with the run's own params.
    pub(crate) params: serde_json::Map<String, serde_json::Value>,
    /// Latest attempt of each task, indexed like the spec's tasks.
    pub(crate) tasks: Vec<TaskRecord>,
    /// Trigger rules, branch choices and handlers, for the engine.
    pub(crate) shape: RunShape,
    /// When the whole run must have ended (the job's `timeout`).
    pub(crate) deadline: Option<chrono::DateTime<chrono::Utc>>,
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
}
