//! Task attempts, and the scheduler's group commit of task and run changes.

use crate::error::StoreError;
use crate::jobs::to_version;
use crate::records::TaskRecord;
use crate::sqlite::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::state::{RunState, TaskState};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

/// A run's new state, written by the scheduler.
#[derive(Clone, Debug, PartialEq)]
pub struct RunUpdate {
    pub id: RunId,
    pub state: RunState,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Rows per bulk UPDATE: 15 bound values each, under SQLite's 32766.
const UPDATES_PER_STATEMENT: usize = 2000;

const TASK_COLUMNS: &str = "id, run_id, task_name, task_idx, attempt, state, fence, worker, exit_code, outputs, \
     error, queued_at, started_at, finished_at, retry_at, map_index, worker_id, waiting_reason, \
     cpu_time_ms, peak_memory_bytes";

impl Store {
    /// Every attempt of every task of a run, by task then attempt.
    pub async fn run_tasks(&self, run_id: RunId) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM task_instances WHERE run_id = ? ORDER BY task_idx, map_index, attempt"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(run_id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// One attempt by its id.
    pub async fn task_instance(
        &self,
        id: TaskInstanceId,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM task_instances WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Writes task attempts (inserting those without an id, whose ids are then set)
    /// and run state changes in one transaction.
    pub async fn commit_changes(
        &self,
        tasks: &mut [TaskRecord],
        runs: &[RunUpdate],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let mut updates: Vec<(i64, &TaskRecord, String, i64)> = Vec::new();
        let mut inserted = vec![false; tasks.len()];
        for (task, inserted) in tasks.iter_mut().zip(inserted.iter_mut()) {
            let outputs =
                serde_json::to_string(&task.outputs).map_err(|e| StoreError::Corrupt {
                    what: "task outputs",
                    message: e.to_string(),
                })?;
            let fence = i64::try_from(task.fence).map_err(|_| StoreError::Corrupt {
                what: "task fence",
                message: format!("{} is out of range", task.fence),
            })?;
            if task.id.is_none() {
                let id: i64 = sqlx::query(
                    "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state, fence, worker, \
                     exit_code, outputs, error, queued_at, started_at, finished_at, retry_at, map_index, \
                     worker_id, waiting_reason, cpu_time_ms, peak_memory_bytes) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(task.run_id.0)
                .bind(&task.task_name)
                .bind(task.task_idx)
                .bind(task.attempt)
                .bind(task.state.as_str())
                .bind(fence)
                .bind(&task.worker)
                .bind(task.exit_code)
                .bind(outputs)
                .bind(&task.error)
                .bind(task.queued_at)
                .bind(task.started_at)
                .bind(task.finished_at)
                .bind(task.retry_at)
                .bind(task.map_index)
                .bind(&task.worker_id)
                .bind(&task.waiting_reason)
                .bind(task.cpu_time_ms.map(to_i64))
                .bind(task.peak_memory_bytes.map(to_i64))
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
                task.id = Some(TaskInstanceId(id));
                *inserted = true;
            }
        }
        for (task, _) in tasks
            .iter()
            .zip(&inserted)
            .filter(|(_, inserted)| !**inserted)
        {
            // Rows inserted just above are complete; the rest are updated in bulk.
            let Some(id) = task.id else { continue };
            let outputs = serde_json::to_string(&task.outputs).unwrap_or_else(|_| "{}".to_owned());
            let fence = i64::try_from(task.fence).unwrap_or(i64::MAX);
            updates.push((id.0, task, outputs, fence));
        }
        // One statement per chunk instead of one per row: the scheduler's group
        // commits write hundreds of attempts at once.
        for chunk in updates.chunks(UPDATES_PER_STATEMENT) {
            let mut update: QueryBuilder<Sqlite> = QueryBuilder::new(
                "UPDATE task_instances SET state = v.column2, fence = v.column3, worker = v.column4, \
                 exit_code = v.column5, outputs = v.column6, error = v.column7, queued_at = v.column8, \
                 started_at = v.column9, finished_at = v.column10, retry_at = v.column11, \
                 worker_id = v.column12, waiting_reason = v.column13, cpu_time_ms = v.column14, \
                 peak_memory_bytes = v.column15 FROM (",
            );
            update.push_values(chunk, |mut row, (id, task, outputs, fence)| {
                row.push_bind(*id)
                    .push_bind(task.state.as_str())
                    .push_bind(*fence)
                    .push_bind(task.worker.clone())
                    .push_bind(task.exit_code)
                    .push_bind(outputs.clone())
                    .push_bind(task.error.clone())
                    .push_bind(task.queued_at)
                    .push_bind(task.started_at)
                    .push_bind(task.finished_at)
                    .push_bind(task.retry_at)
                    .push_bind(task.worker_id.clone())
                    .push_bind(task.waiting_reason.clone())
                    .push_bind(task.cpu_time_ms.map(to_i64))
                    .push_bind(task.peak_memory_bytes.map(to_i64));
            });
            update.push(") AS v WHERE task_instances.id = v.column1");
            update.build().execute(&mut *tx).await?;
        }
        for chunk in runs.chunks(UPDATES_PER_STATEMENT) {
            let mut update: QueryBuilder<Sqlite> = QueryBuilder::new(
                "UPDATE runs SET state = v.column2, started_at = v.column3, finished_at = v.column4 FROM (",
            );
            update.push_values(chunk, |mut row, run| {
                row.push_bind(run.id.0)
                    .push_bind(run.state.as_str())
                    .push_bind(run.started_at)
                    .push_bind(run.finished_at);
            });
            update.push(") AS v WHERE runs.id = v.column1");
            update.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn task_from_row(row: &SqliteRow) -> Result<TaskRecord, StoreError> {
    let state: String = row.try_get(5)?;
    let fence: i64 = row.try_get(6)?;
    let outputs: String = row.try_get(9)?;
    Ok(TaskRecord {
        id: Some(TaskInstanceId(row.try_get(0)?)),
        run_id: RunId(row.try_get(1)?),
        task_name: row.try_get(2)?,
        task_idx: to_version(row.try_get(3)?)?,
        attempt: to_version(row.try_get(4)?)?,
        state: TaskState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            what: "task_instances.state",
            message: format!("unknown state {state:?}"),
        })?,
        fence: u64::try_from(fence).unwrap_or(0),
        worker: row.try_get(7)?,
        exit_code: row.try_get(8)?,
        outputs: serde_json::from_str(&outputs).map_err(|e| StoreError::Corrupt {
            what: "task_instances.outputs",
            message: e.to_string(),
        })?,
        error: row.try_get(10)?,
        queued_at: row.try_get(11)?,
        started_at: row.try_get(12)?,
        finished_at: row.try_get(13)?,
        retry_at: row.try_get(14)?,
        map_index: row
            .try_get::<Option<i64>, _>(15)?
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
        worker_id: row.try_get(16)?,
        waiting_reason: row.try_get(17)?,
        cpu_time_ms: row
            .try_get::<Option<i64>, _>(18)?
            .map(|v| u64::try_from(v).unwrap_or(0)),
        peak_memory_bytes: row
            .try_get::<Option<i64>, _>(19)?
            .map(|v| u64::try_from(v).unwrap_or(0)),
    })
}

/// SQLite integers are signed; counters beyond `i64::MAX` are clamped.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
