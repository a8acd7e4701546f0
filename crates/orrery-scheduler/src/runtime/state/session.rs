//! Worker sessions: one per worker, by its stable id. A session outlives its links, so
//! a worker that reconnects within its TTL keeps the attempts it runs.

use chrono::{DateTime, Utc};
use orrery_core::ids::TaskInstanceId;
use orrery_proto::{Capacity, Register, Resources};
use std::collections::{BTreeMap, HashMap};

/// Where a worker is in its life, as stored and shown by `orrery worker list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionState {
    Connected,
    /// Its link closed; it keeps its attempts until its TTL runs out.
    Disconnected,
    /// Silent past its TTL: its attempts were declared lost.
    Lost,
}

/// One worker, across its links.
pub(crate) struct Session {
    pub(crate) worker_id: String,
    pub(crate) name: String,
    pub(crate) group: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) capacity: Capacity,
    pub(crate) version: String,
    pub(crate) state: SessionState,
    /// Takes no new attempts; finishes the ones it runs, then leaves.
    pub(crate) draining: bool,
    pub(crate) link: Option<u64>,
    pub(crate) last_seen: DateTime<Utc>,
    /// Attempts assigned to this worker and not yet finished, with what each holds.
    /// Free capacity is computed from these rather than from the worker's credit
    /// reports, which can be stale while assignments are in flight.
    pub(crate) outstanding: HashMap<TaskInstanceId, Resources>,
    /// Liveness changed since it was last written to the store.
    pub(crate) liveness_dirty: bool,
}

impl Session {
    pub(crate) fn new(register: &Register, link: u64, now: DateTime<Utc>) -> Self {
        Self {
            worker_id: register.worker_id.clone(),
            name: register.name.clone(),
            group: group_name(&register.group).to_owned(),
            labels: register.labels.clone(),
            capacity: register.capacity,
            version: register.version.clone(),
            state: SessionState::Connected,
            draining: false,
            link: Some(link),
            last_seen: now,
            outstanding: HashMap::new(),
            liveness_dirty: true,
        }
    }

    /// A worker known only from the attempts it held before a restart: disconnected,
    /// counting its TTL from `now`, until it registers again.
    pub(crate) fn awaiting(worker_id: &str, name: &str, now: DateTime<Utc>) -> Self {
        Self {
            worker_id: worker_id.to_owned(),
            name: name.to_owned(),
            group: DEFAULT_GROUP.to_owned(),
            labels: BTreeMap::new(),
            capacity: Capacity::default(),
            version: String::new(),
            state: SessionState::Disconnected,
            draining: false,
            link: None,
            last_seen: now,
            outstanding: HashMap::new(),
            liveness_dirty: false,
        }
    }

    /// Whether new attempts may go to this worker.
    pub(crate) fn accepts_work(&self) -> bool {
        self.state == SessionState::Connected && self.link.is_some() && !self.draining
    }

    /// The state as stored and shown: `connected`, `disconnected`, `draining`,
    /// `drained` (drained and gone) or `lost`.
    pub(crate) fn display_state(&self) -> &'static str {
        match (self.state, self.draining) {
            (SessionState::Lost, _) => "lost",
            (SessionState::Disconnected, true) if self.outstanding.is_empty() => "drained",
            (SessionState::Disconnected, _) => "disconnected",
            (SessionState::Connected, true) => "draining",
            (SessionState::Connected, false) => "connected",
        }
    }

    /// Slots this worker can still take.
    pub(crate) fn free_slots(&self) -> u32 {
        if !self.accepts_work() {
            return 0;
        }
        let used = u32::try_from(self.outstanding.len()).unwrap_or(u32::MAX);
        self.capacity.slots.saturating_sub(used)
    }

    /// CPU still free, or `None` when the worker does not account CPU.
    pub(crate) fn free_cpu_millis(&self) -> Option<u32> {
        (self.capacity.cpu_millis > 0).then(|| {
            let used: u32 = self.outstanding.values().filter_map(|r| r.cpu_millis).sum();
            self.capacity.cpu_millis.saturating_sub(used)
        })
    }

    /// Memory still free, or `None` when the worker does not account memory.
    pub(crate) fn free_memory_bytes(&self) -> Option<u64> {
        (self.capacity.memory_bytes > 0).then(|| {
            let used: u64 = self
                .outstanding
                .values()
                .filter_map(|r| r.memory_bytes)
                .sum();
            self.capacity.memory_bytes.saturating_sub(used)
        })
    }

    pub(crate) fn free_gpus(&self) -> u32 {
        let used: u32 = self.outstanding.values().map(|r| r.gpus).sum();
        self.capacity.gpus.saturating_sub(used)
    }
}

/// The group of a worker or task that names none.
pub(crate) const DEFAULT_GROUP: &str = "default";

pub(crate) fn group_name(group: &str) -> &str {
    if group.is_empty() {
        DEFAULT_GROUP
    } else {
        group
    }
}
