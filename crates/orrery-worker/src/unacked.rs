//! `UnackedResults`: finished reports kept and re-sent until the scheduler acknowledges them.

use orrery_proto::{TaskFinished, TaskRef};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Results the scheduler has not acknowledged yet, with when each was last sent.
#[derive(Debug)]
pub(crate) struct UnackedResults {
    resend_after: Duration,
    pending: HashMap<TaskRef, Pending>,
}

#[derive(Debug)]
struct Pending {
    finished: TaskFinished,
    last_sent: Instant,
}

impl UnackedResults {
    pub(crate) fn new(resend_after: Duration) -> Self {
        Self {
            resend_after,
            pending: HashMap::new(),
        }
    }

    /// Records a result that was just sent at `now`.
    pub(crate) fn insert(&mut self, finished: TaskFinished, now: Instant) {
        self.pending.insert(
            finished.task,
            Pending {
                finished,
                last_sent: now,
            },
        );
    }

    /// Forgets an acknowledged result; false if it was not pending.
    pub(crate) fn ack(&mut self, task: &TaskRef) -> bool {
        self.pending.remove(task).is_some()
    }

    pub(crate) fn get(&self, task: &TaskRef) -> Option<&TaskFinished> {
        self.pending.get(task).map(|pending| &pending.finished)
    }

    /// The attempts whose results await an acknowledgement.
    pub(crate) fn refs(&self) -> impl Iterator<Item = TaskRef> + '_ {
        self.pending.keys().copied()
    }

    /// Every pending result, marked as sent at `now` (a new link re-sends them all).
    pub(crate) fn take_all(&mut self, now: Instant) -> Vec<TaskFinished> {
        self.pending
            .values_mut()
            .map(|pending| {
                pending.last_sent = now;
                pending.finished.clone()
            })
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The results last sent at least `resend_after` before `now`, marked as sent now.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<TaskFinished> {
        let mut due = Vec::new();
        for pending in self.pending.values_mut() {
            if now.saturating_duration_since(pending.last_sent) >= self.resend_after {
                pending.last_sent = now;
                due.push(pending.finished.clone());
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use orrery_core::ids::TaskInstanceId;
    use orrery_proto::TaskOutcome;

    fn finished(id: i64) -> TaskFinished {
        TaskFinished {
            task: TaskRef {
                task_instance_id: TaskInstanceId(id),
                attempt: 1,
                fence: 7,
            },
            outcome: TaskOutcome::Succeeded,
            exit_code: Some(0),
            outputs: Default::default(),
            error: None,
            started_at: None,
            finished_at: DateTime::UNIX_EPOCH,
            usage: None,
        }
    }

    #[test]
    fn results_are_due_again_after_the_resend_period_until_acked() {
        let start = Instant::now();
        let mut unacked = UnackedResults::new(Duration::from_secs(3));
        unacked.insert(finished(1), start);
        assert!(unacked.take_due(start + Duration::from_secs(2)).is_empty());
        assert_eq!(unacked.take_due(start + Duration::from_secs(3)).len(), 1);
        assert!(unacked.take_due(start + Duration::from_secs(4)).is_empty());
        assert_eq!(unacked.take_due(start + Duration::from_secs(6)).len(), 1);
        assert!(unacked.ack(&finished(1).task));
        assert!(!unacked.ack(&finished(1).task));
        assert!(unacked.is_empty());
        assert!(unacked.take_due(start + Duration::from_secs(60)).is_empty());
    }
}
