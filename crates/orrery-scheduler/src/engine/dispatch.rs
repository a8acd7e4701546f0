//! Placement: which ready task goes to which worker, within each worker's free slots
//! and resources, honouring groups, labels, pinned shards and affinity keys.

use std::collections::BTreeMap;

/// What one connected worker offers now, and in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerOffer {
    pub worker: u64,
    pub group: String,
    pub labels: BTreeMap<String, String>,
    pub free_slots: u32,
    /// `None`: the worker does not account CPU (any request fits).
    pub free_cpu_millis: Option<u32>,
    pub total_cpu_millis: Option<u32>,
    /// `None`: the worker does not account memory.
    pub free_memory_bytes: Option<u64>,
    pub total_memory_bytes: Option<u64>,
    pub free_gpus: u32,
    pub total_gpus: u32,
    /// Stable id, for affinity hashing (the same key lands on the same worker).
    pub stable_id: String,
}

/// What one ready task needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskNeeds {
    /// `None`: the default group.
    pub group: String,
    pub labels: BTreeMap<String, String>,
    pub cpu_millis: Option<u32>,
    pub memory_bytes: Option<u64>,
    pub gpus: u32,
    /// A broadcast shard runs on the worker with this stable id only.
    pub pinned: Option<String>,
    /// Tasks with the same key go to the same (live) worker.
    pub affinity_key: Option<String>,
}

/// What to do with one ready task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Assign it to this worker now.
    Place(u64),
    /// A worker that could run it is busy; it waits its turn.
    /// Every worker that could run it is full now; `matching` is how many there are.
    Busy { matching: usize },
    /// No connected worker can ever run it; the reason names the unmet need.
    Unplaceable(String),
}

impl TaskNeeds {
    fn selects(&self, worker: &WorkerOffer) -> bool {
        worker.group == self.group
            && self
                .labels
                .iter()
                .all(|(k, v)| worker.labels.get(k) == Some(v))
            && self
                .pinned
                .as_ref()
                .is_none_or(|pinned| *pinned == worker.stable_id)
    }

    /// Whether the worker could ever run it (its whole capacity is enough).
    fn could_fit(&self, worker: &WorkerOffer) -> bool {
        fits(self.cpu_millis, worker.total_cpu_millis)
            && fits(self.memory_bytes, worker.total_memory_bytes)
            && self.gpus <= worker.total_gpus
    }

    /// Whether the worker can run it right now.
    fn fits_now(&self, worker: &WorkerOffer) -> bool {
        worker.free_slots > 0
            && fits(self.cpu_millis, worker.free_cpu_millis)
            && fits(self.memory_bytes, worker.free_memory_bytes)
            && self.gpus <= worker.free_gpus
    }

    fn take_from(&self, worker: &mut WorkerOffer) {
        worker.free_slots -= 1;
        if let (Some(need), Some(free)) = (self.cpu_millis, worker.free_cpu_millis.as_mut()) {
            *free = free.saturating_sub(need);
        }
        if let (Some(need), Some(free)) = (self.memory_bytes, worker.free_memory_bytes.as_mut()) {
            *free = free.saturating_sub(need);
        }
        worker.free_gpus = worker.free_gpus.saturating_sub(self.gpus);
    }

    /// Why no worker can ever run it, naming the first unmet need.
    fn never_reason(&self, selected: &[&WorkerOffer]) -> String {
        let group = &self.group;
        if selected.is_empty() {
            return if self.labels.is_empty() {
                format!("no worker in group {group:?} is connected")
            } else {
                let labels: Vec<String> = self
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!(
                    "no worker in group {group:?} has labels {}",
                    labels.join(",")
                )
            };
        }
        if self.gpus > 0 && selected.iter().all(|w| w.total_gpus < self.gpus) {
            let s = if self.gpus == 1 { "" } else { "s" };
            return format!("no worker in group {group:?} has {} GPU{s}", self.gpus);
        }
        if let Some(cpu) = self.cpu_millis
            && selected
                .iter()
                .all(|w| !fits(Some(cpu), w.total_cpu_millis))
        {
            return format!(
                "no worker in group {group:?} has {} CPU",
                cpu as f64 / 1000.0
            );
        }
        if let Some(memory) = self.memory_bytes
            && selected
                .iter()
                .all(|w| !fits(Some(memory), w.total_memory_bytes))
        {
            return format!(
                "no worker in group {group:?} has {} of memory",
                orrery_core::spec::format_bytes(memory)
            );
        }
        format!("no worker in group {group:?} has room for it")
    }
}

fn fits<T: PartialOrd>(need: Option<T>, available: Option<T>) -> bool {
    match (need, available) {
        (Some(need), Some(available)) => need <= available,
        _ => true,
    }
}

/// A stable score of (key, worker): rendezvous hashing, so a key keeps its worker for
/// as long as that worker is alive, and only its keys move when it leaves.
fn affinity_score(key: &str, worker: &str) -> u64 {
    // FNV-1a: stable across processes and releases, unlike std's RandomState.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain([0xff]).chain(worker.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Decides for each task in order (priority, then FIFO): the fitting worker with the
/// most free slots (ties: the first listed), or why it waits. A task that does not
/// fit now never blocks the smaller tasks behind it.
pub fn place_tasks(tasks: &[TaskNeeds], workers: &mut [WorkerOffer]) -> Vec<Placement> {
    tasks
        .iter()
        .map(|task| {
            let selected: Vec<usize> = (0..workers.len())
                .filter(|&i| task.selects(&workers[i]) && task.could_fit(&workers[i]))
                .collect();
            if selected.is_empty() {
                let candidates: Vec<&WorkerOffer> =
                    workers.iter().filter(|w| task.selects(w)).collect();
                return Placement::Unplaceable(task.never_reason(&candidates));
            }
            let chosen = match &task.affinity_key {
                Some(key) => selected
                    .iter()
                    .copied()
                    .max_by_key(|&i| affinity_score(key, &workers[i].stable_id))
                    .filter(|&i| task.fits_now(&workers[i])),
                None => selected
                    .iter()
                    .copied()
                    .filter(|&i| task.fits_now(&workers[i]))
                    .fold(None::<usize>, |best, i| match best {
                        Some(b) if workers[b].free_slots >= workers[i].free_slots => Some(b),
                        _ => Some(i),
                    }),
            };
            match chosen {
                Some(i) => {
                    task.take_from(&mut workers[i]);
                    Placement::Place(workers[i].worker)
                }
                None => Placement::Busy {
                    matching: selected.len(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
