//! The active runs: each run's hot state, the index of what waits and falls due, the
//! ready queue and the runs touched since they were last advanced.

use super::active_run::{ActiveRun, Slot};
use super::ready_queue::ReadyQueue;
use super::run_index::RunIndex;
use orrery_core::ids::RunId;
use orrery_store::records::TaskRecord;
use std::collections::{BTreeSet, HashMap};

/// Runs being advanced, with what the driver knows of the store's.
pub(crate) struct ActiveRuns {
    pub(crate) map: HashMap<RunId, ActiveRun>,
    /// What waits, runs and falls due among `map`, kept up as they change.
    pub(crate) index: RunIndex,
    /// Ready tasks, oldest first; entries whose task is no longer queued are skipped.
    pub(crate) ready: ReadyQueue,
    /// Runs whose tasks changed since they were last advanced.
    pub(crate) touched: BTreeSet<RunId>,
    /// Runs that ended in this tick (their parents, if any, are told).
    pub(crate) finished: Vec<RunId>,
    /// Every active run up to this id has been read from the store (later ones are
    /// read by the next sync).
    pub(crate) seen_up_to: RunId,
    /// The store's reopened-runs count at the last sync.
    pub(crate) reopened_seen: Option<i64>,
    /// Most running runs per backfill.
    pub(crate) backfill_parallelism: HashMap<i64, u32>,
}

impl ActiveRuns {
    /// The latest attempt in `slot` of active run `id`.
    pub(crate) fn record(&self, id: RunId, slot: Slot) -> Option<&TaskRecord> {
        self.map.get(&id)?.record(slot)
    }

    /// The latest attempt in `slot` of active run `id`, to change.
    pub(crate) fn record_mut(&mut self, id: RunId, slot: Slot) -> Option<&mut TaskRecord> {
        self.map.get_mut(&id)?.record_mut(slot)
    }
}

impl Default for ActiveRuns {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            index: RunIndex::default(),
            ready: ReadyQueue::default(),
            touched: BTreeSet::new(),
            finished: Vec::new(),
            seen_up_to: RunId(0),
            reopened_seen: None,
            backfill_parallelism: HashMap::new(),
        }
    }
}
