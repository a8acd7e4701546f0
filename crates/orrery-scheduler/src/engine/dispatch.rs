//! Placement: which ready task goes to which worker, within each worker's free slots.

/// Free capacity of one connected worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerCapacity {
    pub worker: u64,
    pub free_slots: u32,
}

/// Ready task number `task` (an index into the ready list) goes to `worker`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub task: usize,
    pub worker: u64,
}

/// Places ready tasks in order (FIFO) on the worker with the most free slots (ties:
/// the first listed), never beyond a worker's free slots.
pub fn place_tasks(n_ready: usize, workers: &[WorkerCapacity]) -> Vec<Placement> {
    let mut free: Vec<(u64, u32)> = workers.iter().map(|w| (w.worker, w.free_slots)).collect();
    let mut placements = Vec::new();
    for task in 0..n_ready {
        let best = free.iter_mut().filter(|(_, slots)| *slots > 0).fold(
            None::<&mut (u64, u32)>,
            |best, candidate| match best {
                Some(b) if b.1 >= candidate.1 => Some(b),
                _ => Some(candidate),
            },
        );
        let Some(slot) = best else { break };
        slot.1 -= 1;
        placements.push(Placement {
            task,
            worker: slot.0,
        });
    }
    placements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(worker: u64, free_slots: u32) -> WorkerCapacity {
        WorkerCapacity { worker, free_slots }
    }

    #[test]
    fn never_exceeds_free_slots() {
        let placements = place_tasks(10, &[worker(1, 2), worker(2, 3)]);
        assert_eq!(placements.len(), 5);
        assert_eq!(placements.iter().filter(|p| p.worker == 1).count(), 2);
        assert_eq!(placements.iter().filter(|p| p.worker == 2).count(), 3);
        let tasks: Vec<usize> = placements.iter().map(|p| p.task).collect();
        assert_eq!(
            tasks,
            vec![0, 1, 2, 3, 4],
            "FIFO: the oldest ready tasks go first"
        );
    }

    #[test]
    fn spreads_to_the_least_loaded_worker() {
        let placements = place_tasks(2, &[worker(1, 1), worker(2, 4)]);
        assert_eq!(placements[0].worker, 2);
    }

    #[test]
    fn no_worker_no_placement() {
        assert!(place_tasks(3, &[]).is_empty());
        assert!(place_tasks(3, &[worker(1, 0)]).is_empty());
    }
}
