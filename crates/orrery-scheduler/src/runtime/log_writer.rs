//! The log writer: stores the log lines workers send, off the scheduling path. It
//! takes whatever arrived while it wrote and stores it in one transaction, so log
//! volume costs one write per batch rather than one per chunk, and never shares the
//! scheduling transaction. The driver waits for it (a barrier) only before it commits
//! changes, so an attempt's lines are stored before its end is.

use super::state::{AcceptedLogs, RejectedReport};
use chrono::{DateTime, Utc};
use orrery_store::records::NewLogLine;
use orrery_store::{LeaderStore, LogOwner, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most entries queued before the driver waits for the writer to catch up.
const QUEUE: usize = 1024;

/// Most lines stored in one transaction.
const MAX_BATCH_LINES: usize = 16_384;

/// What the driver hands the writer.
enum Entry {
    Accepted(AcceptedLogs),
    /// A line about a rejected report, written against the attempt it named.
    Rejected(RejectedReport, DateTime<Utc>),
    /// Answered once everything sent before it is stored (or failed to be).
    Barrier(oneshot::Sender<()>),
}

/// The driver's end of the log writer.
pub(crate) struct LogWriter {
    entries: mpsc::Sender<Entry>,
    /// Entries sent since the last barrier.
    unflushed: bool,
}

impl LogWriter {
    /// Starts the writer on `store` (the leader's, so a deposed leader's lines are
    /// refused like its other writes).
    pub(crate) fn spawn(store: LeaderStore) -> Self {
        let (entries, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_until_closed(store, receiver));
        Self {
            entries,
            unflushed: false,
        }
    }

    /// Queues accepted lines; waits only when the writer is `QUEUE` entries behind.
    pub(crate) async fn append(&mut self, logs: AcceptedLogs) {
        self.send(Entry::Accepted(logs)).await;
    }

    /// Queues a line recording a rejected report.
    pub(crate) async fn record_rejected(&mut self, report: RejectedReport, at: DateTime<Utc>) {
        self.send(Entry::Rejected(report, at)).await;
    }

    async fn send(&mut self, entry: Entry) {
        self.unflushed = true;
        if self.entries.send(entry).await.is_err() {
            tracing::error!("the log writer stopped; log lines are lost");
        }
    }

    /// Waits until everything queued so far is stored.
    pub(crate) async fn flush(&mut self) {
        if !std::mem::take(&mut self.unflushed) {
            return;
        }
        let (done, stored) = oneshot::channel();
        if self.entries.send(Entry::Barrier(done)).await.is_ok() {
            let _ = stored.await;
        }
    }
}

async fn write_until_closed(store: LeaderStore, mut receiver: mpsc::Receiver<Entry>) {
    let mut batch: Vec<AcceptedLogs> = Vec::new();
    let mut barriers: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        let mut lines = 0;
        while let Some(entry) = next.take() {
            match entry {
                Entry::Accepted(logs) => {
                    lines += logs.lines.len();
                    batch.push(logs);
                }
                Entry::Rejected(report, at) => {
                    if let Some(logs) = rejected_line(&store, report, at).await {
                        batch.push(logs);
                    }
                }
                Entry::Barrier(done) => barriers.push(done),
            }
            if lines < MAX_BATCH_LINES {
                next = receiver.try_recv().ok();
            }
        }
        if let Err(error) = store_batch(&store, &batch).await {
            tracing::error!(%error, chunks = batch.len(), "cannot store log lines");
        }
        batch.clear();
        for done in barriers.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn store_batch(store: &LeaderStore, batch: &[AcceptedLogs]) -> Result<(), StoreError> {
    let owned: Vec<(LogOwner<'_>, &[NewLogLine])> = batch
        .iter()
        .map(|logs| {
            let owner = LogOwner {
                run_id: logs.run_id,
                task_instance_id: logs.task_instance_id,
                task_name: &logs.task_name,
                attempt: logs.attempt,
            };
            (owner, logs.lines.as_slice())
        })
        .collect();
    store.append_log_batches(&owned).await
}

/// The line recording a rejected report, addressed to the attempt it named (looked
/// up, as the attempt may no longer be active).
async fn rejected_line(
    store: &LeaderStore,
    report: RejectedReport,
    at: DateTime<Utc>,
) -> Option<AcceptedLogs> {
    let task = report.task;
    let attempt = match store.task_instance(task.task_instance_id).await {
        Ok(attempt) => attempt?,
        Err(error) => {
            tracing::error!(%error, "cannot look up a rejected report's attempt");
            return None;
        }
    };
    Some(AcceptedLogs {
        run_id: attempt.run_id,
        task_instance_id: task.task_instance_id,
        task_name: attempt.task_name,
        attempt: attempt.attempt,
        lines: vec![NewLogLine {
            at,
            stream: "system",
            text: format!(
                "[orrery] rejected {} from worker {}: this attempt was revoked (fence {} is no longer current)",
                report.what, report.worker, task.fence
            ),
        }],
    })
}
