//! Task attempts, and the scheduler's group commit of task and run changes.

use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::leader::LeaderStore;
use crate::records::TaskRecord;
use crate::row::{StoreRow, to_i64, to_u64, to_version};
use crate::store::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::state::{RunState, TaskState};
use sqlx::QueryBuilder;

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

/// `map_index NULLS FIRST`: a fan-out's own row before its mapped instances on both
/// backends (PostgreSQL sorts NULL last by default, SQLite first).
const TASK_ORDER: &str = "task_idx, map_index NULLS FIRST, attempt";

const TASK_COLUMNS: &str = "id, run_id, task_name, task_idx, attempt, state, fence, worker, exit_code, outputs, \
     error, queued_at, started_at, finished_at, retry_at, map_index, worker_id, waiting_reason, \
     cpu_time_ms, peak_memory_bytes";

/// The bulk update's rows are a common table expression with named columns: both
/// backends accept it, where a `VALUES` list in FROM is named `column1…` by SQLite
/// but needs an alias list on PostgreSQL.
const UPDATE_TASKS_HEAD: &str = "WITH v (id, state, fence, worker, exit_code, outputs, error, \
     queued_at, started_at, finished_at, retry_at, worker_id, waiting_reason, cpu_time_ms, \
     peak_memory_bytes) AS (";
const UPDATE_TASKS_TAIL: &str = ") UPDATE task_instances SET state = v.state, fence = v.fence, \
     worker = v.worker, exit_code = v.exit_code, outputs = v.outputs, error = v.error, \
     queued_at = v.queued_at, started_at = v.started_at, finished_at = v.finished_at, \
     retry_at = v.retry_at, worker_id = v.worker_id, waiting_reason = v.waiting_reason, \
     cpu_time_ms = v.cpu_time_ms, peak_memory_bytes = v.peak_memory_bytes \
     FROM v WHERE task_instances.id = v.id";
const UPDATE_RUNS_HEAD: &str = "WITH v (id, state, started_at, finished_at) AS (";
const UPDATE_RUNS_TAIL: &str = ") UPDATE runs SET state = v.state, started_at = v.started_at, \
     finished_at = v.finished_at FROM v WHERE runs.id = v.id";

const INSERT_TASK: &str = "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state, \
     fence, worker, exit_code, outputs, error, queued_at, started_at, finished_at, retry_at, \
     map_index, worker_id, waiting_reason, cpu_time_ms, peak_memory_bytes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
     RETURNING id";

/// A task attempt's values as bound: integers signed, outputs as JSON text.
struct TaskRow<'a> {
    task: &'a TaskRecord,
    fence: i64,
    outputs: String,
}

impl<'a> TaskRow<'a> {
    fn new(task: &'a TaskRecord) -> Result<Self, StoreError> {
        let outputs = serde_json::to_string(&task.outputs).map_err(|e| StoreError::Corrupt {
            what: "task outputs",
            message: e.to_string(),
        })?;
        let fence = i64::try_from(task.fence).map_err(|_| StoreError::Corrupt {
            what: "task fence",
            message: format!("{} is out of range", task.fence),
        })?;
        Ok(Self {
            task,
            fence,
            outputs,
        })
    }
}

impl Store {
    /// Every attempt of every task of a run, by task then attempt.
    pub async fn run_tasks(&self, run_id: RunId) -> Result<Vec<TaskRecord>, StoreError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM task_instances WHERE run_id = $1 ORDER BY {TASK_ORDER}"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(run_id.0)
                .fetch_all(pool)
                .await?
                .iter()
                .map(task_from_row)
                .collect()
        })
    }

    /// One attempt by its id.
    pub async fn task_instance(
        &self,
        id: TaskInstanceId,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM task_instances WHERE id = $1");
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(task_from_row)
                .transpose()
        })
    }
}

impl LeaderStore {
    /// Writes task attempts (inserting those without an id, whose ids are then set)
    /// and run state changes in one transaction, with the alert events they raised.
    pub async fn commit_changes(
        &self,
        tasks: &mut [TaskRecord],
        runs: &[RunUpdate],
        alerts: &[crate::NewAlertEvent],
    ) -> Result<(), StoreError> {
        let mut tx = self.store.write_tx().await?;
        // New attempts are inserted one by one (their ids are needed); the rest are
        // updated in bulk below.
        let mut new_ids = Vec::new();
        let mut updates = Vec::new();
        for (position, task) in tasks.iter().enumerate() {
            let row = TaskRow::new(task)?;
            if task.id.is_none() {
                let task = row.task;
                let id: i64 = on_tx!(&mut tx, |conn| {
                    sqlx::query_scalar(INSERT_TASK)
                        .bind(task.run_id.0)
                        .bind(&task.task_name)
                        .bind(i64::from(task.task_idx))
                        .bind(i64::from(task.attempt))
                        .bind(task.state.as_str())
                        .bind(row.fence)
                        .bind(&task.worker)
                        .bind(task.exit_code.map(i64::from))
                        .bind(&row.outputs)
                        .bind(&task.error)
                        .bind(task.queued_at)
                        .bind(task.started_at)
                        .bind(task.finished_at)
                        .bind(task.retry_at)
                        .bind(task.map_index.map(i64::from))
                        .bind(&task.worker_id)
                        .bind(&task.waiting_reason)
                        .bind(task.cpu_time_ms.map(to_i64))
                        .bind(task.peak_memory_bytes.map(to_i64))
                        .fetch_one(&mut *conn)
                        .await?
                });
                new_ids.push((position, TaskInstanceId(id)));
            } else if let Some(id) = task.id {
                updates.push((id.0, row));
            }
        }
        // One statement per chunk instead of one per row: the scheduler's group
        // commits write hundreds of attempts at once.
        on_tx!(&mut tx, |conn| {
            for chunk in updates.chunks(UPDATES_PER_STATEMENT) {
                let mut update = QueryBuilder::new(UPDATE_TASKS_HEAD);
                update.push_values(chunk, |mut values, (id, row)| {
                    let task = row.task;
                    values
                        .push_bind(*id)
                        .push_bind(task.state.as_str())
                        .push_bind(row.fence)
                        .push_bind(task.worker.as_deref())
                        .push_bind(task.exit_code.map(i64::from))
                        .push_bind(row.outputs.as_str())
                        .push_bind(task.error.as_deref())
                        .push_bind(task.queued_at)
                        .push_bind(task.started_at)
                        .push_bind(task.finished_at)
                        .push_bind(task.retry_at)
                        .push_bind(task.worker_id.as_deref())
                        .push_bind(task.waiting_reason.as_deref())
                        .push_bind(task.cpu_time_ms.map(to_i64))
                        .push_bind(task.peak_memory_bytes.map(to_i64));
                });
                update.push(UPDATE_TASKS_TAIL);
                update.build().execute(&mut *conn).await?;
            }
            for chunk in runs.chunks(UPDATES_PER_STATEMENT) {
                let mut update = QueryBuilder::new(UPDATE_RUNS_HEAD);
                update.push_values(chunk, |mut values, run| {
                    values
                        .push_bind(run.id.0)
                        .push_bind(run.state.as_str())
                        .push_bind(run.started_at)
                        .push_bind(run.finished_at);
                });
                update.push(UPDATE_RUNS_TAIL);
                update.build().execute(&mut *conn).await?;
            }
        });
        crate::alert_outbox::insert_alert_events(&mut tx, alerts).await?;
        tx.commit().await?;
        for (position, id) in new_ids {
            if let Some(task) = tasks.get_mut(position) {
                task.id = Some(id);
            }
        }
        Ok(())
    }
}

fn task_from_row(row: &impl StoreRow) -> Result<TaskRecord, StoreError> {
    let state: String = row.value(5)?;
    let outputs: String = row.value(9)?;
    let exit_code: Option<i64> = row.value(8)?;
    Ok(TaskRecord {
        id: Some(TaskInstanceId(row.value(0)?)),
        run_id: RunId(row.value(1)?),
        task_name: row.value(2)?,
        task_idx: to_version(row.value(3)?)?,
        attempt: to_version(row.value(4)?)?,
        state: TaskState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            what: "task_instances.state",
            message: format!("unknown state {state:?}"),
        })?,
        fence: to_u64(row.value(6)?),
        worker: row.value(7)?,
        exit_code: exit_code
            .map(|code| {
                i32::try_from(code).map_err(|_| StoreError::Corrupt {
                    what: "task_instances.exit_code",
                    message: format!("{code} is out of range"),
                })
            })
            .transpose()?,
        outputs: serde_json::from_str(&outputs).map_err(|e| StoreError::Corrupt {
            what: "task_instances.outputs",
            message: e.to_string(),
        })?,
        error: row.value(10)?,
        queued_at: row.value(11)?,
        started_at: row.value(12)?,
        finished_at: row.value(13)?,
        retry_at: row.value(14)?,
        map_index: row
            .value::<Option<i64>>(15)?
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
        worker_id: row.value(16)?,
        waiting_reason: row.value(17)?,
        cpu_time_ms: row.value::<Option<i64>>(18)?.map(to_u64),
        peak_memory_bytes: row.value::<Option<i64>>(19)?.map(to_u64),
    })
}
