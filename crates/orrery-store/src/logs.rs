//! Captured task output, appended in batches and read back by run (and task).

use crate::error::StoreError;
use crate::jobs::to_version;
use crate::records::{LogRecord, NewLogLine};
use crate::sqlite::Store;
use orrery_core::ids::{RunId, TaskInstanceId};
use sqlx::{QueryBuilder, Row, Sqlite};

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
    /// Appends lines in order, in one transaction.
    pub async fn append_logs(
        &self,
        owner: LogOwner<'_>,
        lines: &[NewLogLine],
    ) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for chunk in lines.chunks(LINES_PER_INSERT) {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO task_logs (run_id, task_instance_id, task_name, attempt, at, stream, text) ",
            );
            insert.push_values(chunk, |mut row, line| {
                row.push_bind(owner.run_id.0)
                    .push_bind(owner.task_instance_id.0)
                    .push_bind(owner.task_name)
                    .push_bind(owner.attempt)
                    .push_bind(line.at)
                    .push_bind(line.stream)
                    .push_bind(&line.text);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lines of a run (optionally one task) with `seq > after`, oldest first.
    pub async fn read_logs(
        &self,
        run_id: RunId,
        task: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LogRecord>, StoreError> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT seq, task_name, attempt, at, stream, text FROM task_logs WHERE run_id = ",
        );
        query
            .push_bind(run_id.0)
            .push(" AND seq > ")
            .push_bind(after);
        if let Some(task) = task {
            query.push(" AND task_name = ").push_bind(task.to_owned());
        }
        query.push(" ORDER BY seq LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(LogRecord {
                    seq: row.try_get(0)?,
                    task_name: row.try_get(1)?,
                    attempt: to_version(row.try_get(2)?)?,
                    at: row.try_get(3)?,
                    stream: row.try_get(4)?,
                    text: row.try_get(5)?,
                })
            })
            .collect()
    }
}
