//! Task attempts, and the scheduler's group commit of task and run changes.

use crate::error::StoreError;
use crate::jobs::to_version;
use crate::records::TaskRecord;
use crate::sqlite::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::state::{RunState, TaskState};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// A run's new state, written by the scheduler.
#[derive(Clone, Debug, PartialEq)]
pub struct RunUpdate {
    pub id: RunId,
    pub state: RunState,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

const TASK_COLUMNS: &str = "id, run_id, task_name, task_idx, attempt, state, fence, worker, exit_code, outputs, \
     error, queued_at, started_at, finished_at, retry_at, map_index";

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

    /// Writes task attempts (inserting those without an id, whose ids are then set)
    /// and run state changes in one transaction.
    pub async fn commit_changes(
        &self,
        tasks: &mut [TaskRecord],
        runs: &[RunUpdate],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for task in tasks.iter_mut() {
            let outputs =
                serde_json::to_string(&task.outputs).map_err(|e| StoreError::Corrupt {
                    what: "task outputs",
                    message: e.to_string(),
                })?;
            let fence = i64::try_from(task.fence).map_err(|_| StoreError::Corrupt {
                what: "task fence",
                message: format!("{} is out of range", task.fence),
            })?;
            match task.id {
                None => {
                    let id: i64 = sqlx::query(
                        "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state, fence, worker, \
                         exit_code, outputs, error, queued_at, started_at, finished_at, retry_at, map_index) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                    task.id = Some(TaskInstanceId(id));
                }
                Some(id) => {
                    sqlx::query(
                        "UPDATE task_instances SET state = ?, fence = ?, worker = ?, exit_code = ?, outputs = ?, \
                         error = ?, queued_at = ?, started_at = ?, finished_at = ?, retry_at = ? WHERE id = ?",
                    )
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
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        for run in runs {
            sqlx::query("UPDATE runs SET state = ?, started_at = ?, finished_at = ? WHERE id = ?")
                .bind(run.state.as_str())
                .bind(run.started_at)
                .bind(run.finished_at)
                .bind(run.id.0)
                .execute(&mut *tx)
                .await?;
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
    })
}
