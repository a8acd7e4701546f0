//! Runs: created by the API (with their first task attempts), read and listed by
//! anyone, advanced by the scheduler.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::jobs::to_version;
use crate::records::RunRecord;
use crate::sqlite::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId};
use orrery_core::state::RunState;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

/// A run to create, in state `queued`, with a `pending` first attempt per task.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub job_id: JobId,
    pub job_version: u32,
    pub trigger: &'a str,
    pub params: &'a serde_json::Map<String, serde_json::Value>,
    pub logical_date: Option<DateTime<Utc>>,
    /// Task names in spec order (their index is the task's `task_idx`).
    pub task_names: &'a [String],
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// Filters for listing runs, newest first.
#[derive(Clone, Debug, Default)]
pub struct RunListFilter {
    pub project: Option<String>,
    pub job: Option<String>,
    pub state: Option<RunState>,
    /// Only runs with an id below this one (paging cursor).
    pub before_id: Option<RunId>,
    pub limit: u32,
}

const RUN_COLUMNS: &str = "r.id, r.job_id, j.project, j.name, r.job_version, r.state, r.trigger, r.params, \
     r.logical_date, r.cancel_requested, r.created_at, r.created_by, r.started_at, r.finished_at";

impl Store {
    /// Creates a queued run and its pending task attempts in one transaction.
    pub async fn create_run(&self, new: &NewRun<'_>) -> Result<RunId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let params = serde_json::Value::Object(new.params.clone()).to_string();
        let run_id: i64 = sqlx::query(
            "INSERT INTO runs (job_id, job_version, state, trigger, params, logical_date, created_at, created_by) \
             VALUES (?, ?, 'queued', ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.job_id.0)
        .bind(new.job_version)
        .bind(new.trigger)
        .bind(params)
        .bind(new.logical_date)
        .bind(new.now)
        .bind(new.actor)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if !new.task_names.is_empty() {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state) ",
            );
            insert.push_values(new.task_names.iter().enumerate(), |mut row, (idx, name)| {
                row.push_bind(run_id)
                    .push_bind(name)
                    .push_bind(idx as i64)
                    .push_bind(1_i64)
                    .push_bind("pending");
            });
            insert.build().execute(&mut *tx).await?;
        }
        let resource = format!("run/{run_id}");
        let entry = AuditEntry::new(
            new.actor,
            "run.start",
            &resource,
            None,
            Some(new.job_version),
        );
        write_audit(&mut tx, &entry, new.now).await?;
        tx.commit().await?;
        Ok(RunId(run_id))
    }

    /// One run.
    pub async fn get_run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = ?"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// Runs matching `filter`, newest first.
    pub async fn list_runs(&self, filter: &RunListFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id WHERE 1 = 1"
        ));
        if let Some(project) = &filter.project {
            query.push(" AND j.project = ").push_bind(project.clone());
        }
        if let Some(job) = &filter.job {
            query.push(" AND j.name = ").push_bind(job.clone());
        }
        if let Some(state) = filter.state {
            query.push(" AND r.state = ").push_bind(state.as_str());
        }
        if let Some(before) = filter.before_id {
            query.push(" AND r.id < ").push_bind(before.0);
        }
        query
            .push(" ORDER BY r.id DESC LIMIT ")
            .push_bind(filter.limit);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Runs not yet in a terminal state, oldest first (what the scheduler drives).
    pub async fn active_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id \
             WHERE r.state IN ('queued', 'running') ORDER BY r.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Records that a user wants the run cancelled; the scheduler carries it out.
    /// Returns the run, unchanged when it had already ended.
    pub async fn request_cancel(
        &self,
        id: RunId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE runs SET cancel_requested = 1 WHERE id = ? AND state IN ('queued', 'running') AND cancel_requested = 0",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed > 0 {
            write_audit(
                &mut tx,
                &AuditEntry::new(actor, "run.cancel", &format!("run/{id}"), None, None),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.get_run(id).await
    }
}

pub(crate) fn run_from_row(row: &SqliteRow) -> Result<RunRecord, StoreError> {
    let state: String = row.try_get(5)?;
    let params: String = row.try_get(7)?;
    let params = match serde_json::from_str::<serde_json::Value>(&params) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => {
            return Err(StoreError::Corrupt {
                what: "runs.params",
                message: format!("not a JSON object: {params}"),
            });
        }
    };
    Ok(RunRecord {
        id: RunId(row.try_get(0)?),
        job_id: JobId(row.try_get(1)?),
        project: row.try_get(2)?,
        job_name: row.try_get(3)?,
        job_version: to_version(row.try_get(4)?)?,
        state: RunState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            what: "runs.state",
            message: format!("unknown state {state:?}"),
        })?,
        trigger: row.try_get(6)?,
        params,
        logical_date: row.try_get(8)?,
        cancel_requested: row.try_get(9)?,
        created_at: row.try_get(10)?,
        created_by: row.try_get(11)?,
        started_at: row.try_get(12)?,
        finished_at: row.try_get(13)?,
    })
}
