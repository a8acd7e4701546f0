//! `GpuPool`: which of the worker's GPUs each attempt holds, so attempts asking for
//! GPUs get distinct devices (`CUDA_VISIBLE_DEVICES`).

use orrery_proto::TaskRef;
use std::collections::{BTreeSet, HashMap};

/// The worker's GPUs, by index, and the attempts holding them.
#[derive(Debug)]
pub(crate) struct GpuPool {
    free: BTreeSet<u32>,
    held: HashMap<TaskRef, Vec<u32>>,
}

impl GpuPool {
    pub(crate) fn new(count: u32) -> Self {
        Self {
            free: (0..count).collect(),
            held: HashMap::new(),
        }
    }

    /// Gives `count` free GPUs (lowest indexes first) to `task`; `None` when too few
    /// are free, and then nothing is taken.
    pub(crate) fn take(&mut self, task: TaskRef, count: u32) -> Option<Vec<u32>> {
        if (self.free.len() as u64) < u64::from(count) {
            return None;
        }
        let taken: Vec<u32> = self.free.iter().copied().take(count as usize).collect();
        for index in &taken {
            self.free.remove(index);
        }
        self.held.insert(task, taken.clone());
        Some(taken)
    }

    /// Returns the GPUs `task` held, if any.
    pub(crate) fn release(&mut self, task: &TaskRef) {
        if let Some(indexes) = self.held.remove(task) {
            self.free.extend(indexes);
        }
    }
}

/// The value of `CUDA_VISIBLE_DEVICES` for these GPU indexes.
pub(crate) fn visible_devices(indexes: &[u32]) -> String {
    indexes
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_core::ids::TaskInstanceId;

    fn task(id: i64) -> TaskRef {
        TaskRef {
            task_instance_id: TaskInstanceId(id),
            attempt: 1,
            fence: 1,
        }
    }

    #[test]
    fn attempts_get_distinct_gpus_and_give_them_back() {
        let mut pool = GpuPool::new(3);
        assert_eq!(pool.take(task(1), 2), Some(vec![0, 1]));
        assert_eq!(pool.take(task(2), 2), None, "only one is free");
        assert_eq!(pool.take(task(3), 1), Some(vec![2]));
        pool.release(&task(1));
        assert_eq!(pool.take(task(2), 2), Some(vec![0, 1]));
        assert_eq!(visible_devices(&[0, 1]), "0,1");
    }
}
