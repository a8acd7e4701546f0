//! Captured task output, appended in batches and read back by run (and task).

use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::leader::LeaderStore;
use crate::records::{LogRecord, NewLogLine};
use crate::row::{StoreRow, to_version};
use crate::store::Store;
use orrery_core::ids::{RunId, TaskInstanceId};
use sqlx::QueryBuilder;
use std::borrow::Cow;

/// Which attempt a batch of lines belongs to.
#[derive(Clone, Copy, Debug)]
pub struct LogOwner<'a> {
    pub run_id: RunId,
    pub task_instance_id: TaskInstanceId,
    pub task_name: &'a str,
    pub attempt: u32,
}

/// SQLite allows 32766 bound values per statement; 7 per line.
const LINES_PER_INSERT: usize = 4000;

impl Store {
    /// Lines of a run (optionally one task) with `seq > after`, oldest first.
    pub async fn read_logs(
        &self,
        run_id: RunId,
        task: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LogRecord>, StoreError> {
        on_pool!(self, |pool| {
            let mut query = QueryBuilder::new(
                "SELECT seq, task_name, attempt, at, stream, text FROM task_logs WHERE run_id = ",
            );
            query
                .push_bind(run_id.0)
                .push(" AND seq > ")
                .push_bind(after);
            if let Some(task) = task {
                query.push(" AND task_name = ").push_bind(task);
            }
            query
                .push(" ORDER BY seq LIMIT ")
                .push_bind(i64::from(limit));
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(log_from_row)
                .collect()
        })
    }
}

impl LeaderStore {
    /// The last `n` lines of one attempt, oldest first (an alert quotes them).
    pub async fn log_tail(
        &self,
        run_id: RunId,
        task_instance_id: TaskInstanceId,
        n: u32,
    ) -> Result<Vec<String>, StoreError> {
        on_pool!(self.store, |pool| {
            let mut lines: Vec<String> = sqlx::query_scalar(
                "SELECT text FROM task_logs WHERE run_id = $1 AND task_instance_id = $2 \
                 ORDER BY seq DESC LIMIT $3",
            )
            .bind(run_id.0)
            .bind(task_instance_id.0)
            .bind(i64::from(n))
            .fetch_all(pool)
            .await?;
            lines.reverse();
            Ok(lines)
        })
    }

    /// Appends lines in order, in one transaction. NUL characters, which PostgreSQL
    /// text cannot hold, are stored as U+FFFD on every backend.
    pub async fn append_logs(
        &self,
        owner: LogOwner<'_>,
        lines: &[NewLogLine],
    ) -> Result<(), StoreError> {
        self.append_log_batches(&[(owner, lines)]).await
    }

    /// Appends the lines of several attempts, each in order, in one transaction: a
    /// log writer collects what arrived meanwhile and writes it at once.
    pub async fn append_log_batches(
        &self,
        batches: &[(LogOwner<'_>, &[NewLogLine])],
    ) -> Result<(), StoreError> {
        let rows: Vec<(&LogOwner<'_>, &NewLogLine)> = batches
            .iter()
            .flat_map(|(owner, lines)| lines.iter().map(move |line| (owner, line)))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            for chunk in rows.chunks(LINES_PER_INSERT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO task_logs (run_id, task_instance_id, task_name, attempt, at, stream, text) ",
                );
                insert.push_values(chunk, |mut row, (owner, line)| {
                    row.push_bind(owner.run_id.0)
                        .push_bind(owner.task_instance_id.0)
                        .push_bind(owner.task_name)
                        .push_bind(i64::from(owner.attempt))
                        .push_bind(line.at)
                        .push_bind(line.stream)
                        .push_bind(without_nul(&line.text));
                });
                insert.build().execute(&mut *conn).await?;
            }
        });
        tx.commit().await?;
        Ok(())
    }
}

fn log_from_row(row: &impl StoreRow) -> Result<LogRecord, StoreError> {
    Ok(LogRecord {
        seq: row.value(0)?,
        task_name: row.value(1)?,
        attempt: to_version(row.value(2)?)?,
        at: row.value(3)?,
        stream: row.value(4)?,
        text: row.value(5)?,
    })
}

/// `text` with each NUL replaced by U+FFFD (borrowed when it has none, the usual case).
fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}
