//! Tasks ready to dispatch, highest priority first, then oldest first.

use super::active_run::Slot;
use orrery_core::ids::RunId;
use std::cmp::Reverse;
use std::collections::BTreeSet;

/// A priority queue with FIFO order within a priority. Entries whose task is no
/// longer queued (cancelled meanwhile) are skipped by the dispatcher.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    entries: BTreeSet<(Reverse<i32>, u64, RunId, Slot)>,
    next_seq: u64,
}

/// One entry taken from the queue, to give back if it was not placed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEntry {
    key: (Reverse<i32>, u64, RunId, Slot),
}

impl ReadyEntry {
    pub(crate) fn run(&self) -> RunId {
        self.key.2
    }

    pub(crate) fn slot(&self) -> Slot {
        self.key.3
    }
}

impl ReadyQueue {
    /// Queues `slot` of `run` behind others of the same priority.
    pub(crate) fn push(&mut self, run: RunId, slot: Slot, priority: i32) {
        self.next_seq += 1;
        self.entries
            .insert((Reverse(priority), self.next_seq, run, slot));
    }

    /// The next task to dispatch.
    pub(crate) fn pop(&mut self) -> Option<ReadyEntry> {
        self.entries.pop_first().map(|key| ReadyEntry { key })
    }

    /// Puts back an entry that could not be placed, keeping its place in line.
    pub(crate) fn give_back(&mut self, entry: ReadyEntry) {
        self.entries.insert(entry.key);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_first_then_fifo_and_given_back_entries_keep_their_place() {
        let mut queue = ReadyQueue::default();
        queue.push(RunId(1), Slot::task(0), 0);
        queue.push(RunId(1), Slot::task(1), 5);
        queue.push(RunId(2), Slot::task(0), 0);
        queue.push(RunId(2), Slot::task(1), 5);
        let first = queue.pop().expect("entry");
        assert_eq!((first.run(), first.slot().idx), (RunId(1), 1));
        queue.give_back(first);
        let order: Vec<(RunId, usize)> = std::iter::from_fn(|| queue.pop())
            .map(|e| (e.run(), e.slot().idx))
            .collect();
        assert_eq!(
            order,
            vec![(RunId(1), 1), (RunId(2), 1), (RunId(1), 0), (RunId(2), 0)]
        );
    }
}
