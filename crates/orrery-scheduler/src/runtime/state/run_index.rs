//! The driver's indexes over its active runs, kept up as runs are added, started and
//! ended, so that a tick touches what changed instead of scanning every run (a backlog
//! of 200,000 runs made each tick scan them all several times): the waiting runs of
//! each job or backfill, how many of those run, and the alarms of retries, deadlines
//! and runs made ahead of their time.

use super::SchedulerState;
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId};
use orrery_core::state::{RunState, TaskState};
use orrery_store::records::RunRecord;
use std::collections::{BTreeSet, HashMap, HashSet};

/// What paces a waiting run: its job's concurrency policy, or its backfill's
/// parallelism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PaceKey {
    Job(JobId),
    Backfill(i64),
}

impl PaceKey {
    pub(crate) fn of(record: &RunRecord) -> Self {
        match record.backfill_id {
            Some(backfill) => Self::Backfill(backfill),
            None => Self::Job(record.job_id),
        }
    }
}

#[derive(Default)]
pub(crate) struct RunIndex {
    /// Queued runs per pace key, oldest first. Entries of runs that started or ended
    /// meanwhile are dropped when met.
    waiting: HashMap<PaceKey, BTreeSet<RunId>>,
    /// Keys whose waiting runs may be able to start: one of their runs ended, or a run
    /// began waiting.
    reconsider: HashSet<PaceKey>,
    /// Running runs per pace key.
    running: HashMap<PaceKey, usize>,
    /// When something of a run falls due: a retry, its deadline, or its fire time (a
    /// run made ahead). Entries outlive what they were for; a stale one only touches
    /// the run once more.
    alarms: BTreeSet<(DateTime<Utc>, RunId)>,
    /// Runs ended since they were last removed from memory.
    ended: Vec<RunId>,
}

impl RunIndex {
    /// Files a run just taken into memory: waiting or running, with its alarms.
    pub(crate) fn add(
        &mut self,
        record: &RunRecord,
        alarms: impl IntoIterator<Item = DateTime<Utc>>,
    ) {
        let key = PaceKey::of(record);
        match record.state {
            RunState::Queued => {
                self.waiting.entry(key).or_default().insert(record.id);
                self.reconsider.insert(key);
            }
            RunState::Running => *self.running.entry(key).or_default() += 1,
            _ => {}
        }
        for at in alarms {
            self.alarms.insert((at, record.id));
        }
    }

    /// A waiting run started.
    pub(crate) fn started(&mut self, key: PaceKey, id: RunId) {
        if let Some(waiting) = self.waiting.get_mut(&key) {
            waiting.remove(&id);
        }
        *self.running.entry(key).or_default() += 1;
    }

    /// A run ended; `was_running` when it ended from running (not from waiting).
    pub(crate) fn ended(&mut self, record: &RunRecord, was_running: bool) {
        let (key, id) = (PaceKey::of(record), record.id);
        if was_running {
            if let Some(running) = self.running.get_mut(&key) {
                *running = running.saturating_sub(1);
            }
        } else if let Some(waiting) = self.waiting.get_mut(&key) {
            waiting.remove(&id);
        }
        self.reconsider.insert(key);
        self.ended.push(id);
    }

    pub(crate) fn alarm(&mut self, at: DateTime<Utc>, id: RunId) {
        self.alarms.insert((at, id));
    }

    /// The runs whose alarms are due by `now`, each once.
    pub(crate) fn take_due_alarms(&mut self, now: DateTime<Utc>) -> Vec<RunId> {
        let mut due = Vec::new();
        while let Some(&(at, id)) = self.alarms.first() {
            if at > now {
                break;
            }
            self.alarms.pop_first();
            due.push(id);
        }
        due.sort_unstable();
        due.dedup();
        due
    }

    pub(crate) fn next_alarm(&self) -> Option<DateTime<Utc>> {
        self.alarms.first().map(|(at, _)| *at)
    }

    /// Keys to look at for runs that may start, emptied.
    pub(crate) fn take_reconsider(&mut self) -> Vec<PaceKey> {
        self.reconsider.drain().collect()
    }

    pub(crate) fn reconsider(&mut self, key: PaceKey) {
        self.reconsider.insert(key);
    }

    /// Whether some waiting runs may be able to start.
    pub(crate) fn may_start_some(&self) -> bool {
        self.reconsider
            .iter()
            .any(|key| self.waiting.get(key).is_some_and(|w| !w.is_empty()))
    }

    /// The oldest waiting run of `key`.
    pub(crate) fn first_waiting(&self, key: PaceKey) -> Option<RunId> {
        self.waiting.get(&key).and_then(|w| w.first().copied())
    }

    /// Drops a waiting entry that no longer stands for a queued run.
    pub(crate) fn forget_waiting(&mut self, key: PaceKey, id: RunId) {
        if let Some(waiting) = self.waiting.get_mut(&key) {
            waiting.remove(&id);
            if waiting.is_empty() {
                self.waiting.remove(&key);
            }
        }
    }

    pub(crate) fn waiting_count(&self, key: PaceKey) -> usize {
        self.waiting.get(&key).map_or(0, BTreeSet::len)
    }

    pub(crate) fn running(&self, key: PaceKey) -> usize {
        self.running.get(&key).copied().unwrap_or(0)
    }

    pub(crate) fn take_ended(&mut self) -> Vec<RunId> {
        std::mem::take(&mut self.ended)
    }
}

impl SchedulerState {
    /// Files run `id` (just put in `self.runs.map`) in the index.
    pub(crate) fn index_run(&mut self, id: RunId) {
        let Some(run) = self.runs.map.get(&id) else {
            return;
        };
        let retries = run
            .tasks
            .iter()
            .chain(run.mapped.values().flatten())
            .filter(|t| t.state == TaskState::RetryWait)
            .map(|t| t.retry_at.unwrap_or(run.record.created_at));
        let ahead = run
            .record
            .scheduled_at
            .filter(|_| run.record.state == RunState::Queued)
            .map(|at| at - self.max_ahead());
        let alarms: Vec<_> = retries
            .chain(run.deadline)
            .chain(run.sla_due)
            .chain(ahead)
            .collect();
        self.runs.index.add(&run.record, alarms);
    }

    /// Rebuilds the index from the runs in memory: a check, once per poll, that no
    /// change went unrecorded.
    pub(crate) fn rebuild_run_index(&mut self) {
        // Ended runs stay in memory until their changes are committed.
        let ended = self.runs.index.take_ended();
        self.runs.index = RunIndex {
            ended,
            ..RunIndex::default()
        };
        let ids: Vec<RunId> = self.runs.map.keys().copied().collect();
        for id in ids {
            self.index_run(id);
        }
    }

    /// Removes the runs that ended from memory.
    pub(crate) fn drop_ended_runs(&mut self) {
        for id in self.runs.index.take_ended() {
            if self
                .runs
                .map
                .get(&id)
                .is_some_and(|run| run.record.state.is_terminal())
            {
                self.runs.map.remove(&id);
            }
        }
    }
}
