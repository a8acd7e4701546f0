//! Building `TaskFinished` reports for attempts that never ran a process.

use chrono::{DateTime, Utc};
use orrery_proto::{TaskFinished, TaskOutcome, TaskRef};
use std::collections::BTreeMap;

/// A failed attempt that ended before (or instead of) running anything.
pub(crate) fn failed_without_process(
    task: TaskRef,
    error: String,
    started_at: Option<DateTime<Utc>>,
    finished_at: DateTime<Utc>,
) -> TaskFinished {
    TaskFinished {
        task,
        outcome: TaskOutcome::Failed,
        exit_code: None,
        outputs: BTreeMap::new(),
        error: Some(error),
        started_at,
        finished_at,
        usage: None,
    }
}
