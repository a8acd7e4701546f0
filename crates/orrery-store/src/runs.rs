//! Runs: created by the API (with their first task attempts), read and listed by
//! anyone, advanced by the scheduler.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{WriteTx, on_pool, on_tx};
use crate::records::RunRecord;
use crate::row::{StoreRow, to_version};
use crate::store::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use orrery_core::state::RunState;
use sqlx::QueryBuilder;

/// A run to create, in state `queued`, with a `pending` first attempt per task.
#[derive(Clone, Debug)]
pub struct NewRun<'a> {
    pub job_id: JobId,
    pub job_version: u32,
    pub trigger: orrery_core::state::RunTrigger,
    pub params: &'a serde_json::Map<String, serde_json::Value>,
    pub logical_date: Option<DateTime<Utc>>,
    /// For scheduled and backfilled runs.
    pub schedule: RunSchedule,
    /// Task names in spec order (their index is the task's `task_idx`).
    pub task_names: &'a [String],
    pub actor: &'a str,
    pub now: DateTime<Utc>,
    /// The API request that asked for it, when the run is written outside that
    /// request's task (batched starts); otherwise the current request, if any.
    pub request: Option<&'a crate::request::RequestMeta>,
    /// The job's project, for the run's audit row, when the caller has it at hand
    /// (otherwise it is read with the run).
    pub project: Option<&'a str>,
}

/// Time fields of a scheduled or backfilled run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSchedule {
    /// When the fire was due; lateness is measured from it.
    pub scheduled_at: Option<DateTime<Utc>>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    pub backfill_id: Option<i64>,
    /// An explicit rerun of this run: same logical date, allowed beside it.
    pub rerun_of: Option<RunId>,
    /// For a sub-workflow: the parent run and the task that started it.
    pub parent: Option<(RunId, TaskInstanceId)>,
}

/// Filters for listing runs, newest first.
#[derive(Clone, Debug, Default)]
pub struct RunListFilter {
    pub project: Option<String>,
    /// Only runs of these projects (the projects a caller can see); `None`: any.
    pub projects: Option<Vec<String>>,
    pub job: Option<String>,
    pub state: Option<RunState>,
    /// Only runs with an id below this one (paging cursor).
    pub before_id: Option<RunId>,
    pub limit: u32,
}

const RUN_COLUMNS: &str = "r.id, r.job_id, j.project, j.name, r.job_version, r.state, r.trigger, r.params, \
     r.logical_date, r.cancel_requested, r.created_at, r.created_by, r.started_at, r.finished_at, \
     r.scheduled_at, r.data_interval_start, r.data_interval_end, r.backfill_id, r.rerun_of, \
     r.parent_run_id, r.parent_task_id";

impl Store {
    /// Creates a queued run and its pending task attempts in one transaction.
    pub async fn create_run(&self, new: &NewRun<'_>) -> Result<RunId, StoreError> {
        let mut tx = self.write_tx().await?;
        let run_id = insert_run(&mut tx, new)
            .await?
            .ok_or_else(|| StoreError::Conflict {
                message: format!(
                    "job {} already has a run for logical date {:?}",
                    new.job_id, new.logical_date
                ),
            })?;
        tx.commit().await?;
        Ok(run_id)
    }

    /// Creates several runs, each queued with its pending first attempts, in one
    /// transaction: the group commit of concurrent run starts. Answers, per run, its
    /// id and its attempts' ids in task order, or `None` when its job already had a
    /// run for its logical date.
    pub async fn create_runs(
        &self,
        runs: &[NewRun<'_>],
    ) -> Result<Vec<Option<(RunId, Vec<TaskInstanceId>)>>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut created = Vec::with_capacity(runs.len());
        for run in runs {
            created.push(insert_run_with_tasks(&mut tx, run).await?);
        }
        tx.commit().await?;
        Ok(created)
    }

    /// One run.
    pub async fn get_run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = $1"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(run_from_row)
                .transpose()
        })
    }

    /// Runs matching `filter`, newest first.
    pub async fn list_runs(&self, filter: &RunListFilter) -> Result<Vec<RunRecord>, StoreError> {
        let select =
            format!("SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id WHERE 1 = 1");
        on_pool!(self, |pool| {
            let mut query = QueryBuilder::new(select);
            if let Some(project) = &filter.project {
                query.push(" AND j.project = ").push_bind(project.clone());
            }
            if let Some(projects) = &filter.projects {
                if projects.is_empty() {
                    query.push(" AND 1 = 0");
                } else {
                    query.push(" AND j.project IN (");
                    let mut list = query.separated(", ");
                    for project in projects {
                        list.push_bind(project.clone());
                    }
                    query.push(")");
                }
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
                .push_bind(i64::from(filter.limit));
            query
                .build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(run_from_row)
                .collect()
        })
    }

    /// Runs not yet in a terminal state, oldest first (what the scheduler drives).
    pub async fn active_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id \
             WHERE r.state IN ('queued', 'running') ORDER BY r.id"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(run_from_row)
                .collect()
        })
    }

    /// What changed among active runs since the scheduler saw every run up to `after`:
    /// active runs created since (ids only grow in commit order, as writes are
    /// serialized on both backends), and every active run whose cancel was requested.
    /// Oldest first. Cheap with many active runs; a run reopened after it ended is not
    /// included (see [`Store::runs_reopened_count`]).
    pub async fn active_runs_after(&self, after: RunId) -> Result<Vec<RunRecord>, StoreError> {
        // Two queries, each on its own index (the primary key, and the partial index
        // of pending cancels): an OR would scan every active run.
        let new_sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id \
             WHERE r.id > $1 AND r.state IN ('queued', 'running') ORDER BY r.id"
        );
        // SQLite has no statistics to tell it the partial index is tiny: name it.
        let cancel_index = match &self.backend {
            crate::store::Backend::Sqlite(_) => " INDEXED BY runs_cancel_pending",
            crate::store::Backend::Postgres(_) => "",
        };
        let cancel_sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r{cancel_index} JOIN jobs j ON j.id = r.job_id \
             WHERE r.cancel_requested = TRUE AND r.state IN ('queued', 'running') ORDER BY r.id"
        );
        let (mut runs, cancelled) = on_pool!(self, |pool| {
            let new = sqlx::query(sqlx::AssertSqlSafe(new_sql))
                .bind(after.0)
                .fetch_all(pool)
                .await?
                .iter()
                .map(run_from_row)
                .collect::<Result<Vec<RunRecord>, StoreError>>()?;
            let cancelled = sqlx::query(sqlx::AssertSqlSafe(cancel_sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(run_from_row)
                .collect::<Result<Vec<RunRecord>, StoreError>>()?;
            (new, cancelled)
        });
        // A cancelled run created since `after` is already among the new ones.
        runs.extend(cancelled.into_iter().filter(|run| run.id <= after));
        runs.sort_by_key(|run| run.id);
        Ok(runs)
    }

    /// Records that a user wants the run cancelled; the scheduler carries it out.
    /// Returns the run, unchanged when it had already ended.
    pub async fn request_cancel(
        &self,
        id: RunId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let changed = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE runs SET cancel_requested = TRUE \
                 WHERE id = $1 AND state IN ('queued', 'running') AND cancel_requested = FALSE",
            )
            .bind(id.0)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
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

/// Rows per multi-row INSERT: 5 bound values each, under SQLite's 32766 (and
/// PostgreSQL's 65535) bound values per statement.
const TASKS_PER_INSERT: usize = 5000;

/// Inserts a run with its first attempts and an audit row. `None` when a run for the
/// same (job, logical date) already exists; nothing is written then.
pub(crate) async fn insert_run(
    tx: &mut WriteTx,
    new: &NewRun<'_>,
) -> Result<Option<RunId>, StoreError> {
    Ok(insert_run_with_tasks(tx, new).await?.map(|(id, _)| id))
}

/// Like [`insert_run`], also returning the ids of the run's task attempts in task
/// order, so the scheduler can take the run up without reading it back.
pub(crate) async fn insert_run_with_tasks(
    tx: &mut WriteTx,
    new: &NewRun<'_>,
) -> Result<Option<(RunId, Vec<TaskInstanceId>)>, StoreError> {
    let params = serde_json::Value::Object(new.params.clone()).to_string();
    let run_id: Option<i64> = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "INSERT INTO runs (job_id, job_version, state, trigger, params, logical_date, scheduled_at, \
             data_interval_start, data_interval_end, backfill_id, rerun_of, parent_run_id, parent_task_id, \
             created_at, created_by) \
             VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (job_id, logical_date) WHERE rerun_of IS NULL \
             AND trigger IN ('schedule', 'backfill') DO NOTHING RETURNING id",
        )
        .bind(new.job_id.0)
        .bind(i64::from(new.job_version))
        .bind(new.trigger.as_str())
        .bind(params)
        .bind(new.logical_date)
        .bind(new.schedule.scheduled_at)
        .bind(new.schedule.data_interval_start)
        .bind(new.schedule.data_interval_end)
        .bind(new.schedule.backfill_id)
        .bind(new.schedule.rerun_of.map(|id| id.0))
        .bind(new.schedule.parent.map(|(run, _)| run.0))
        .bind(new.schedule.parent.map(|(_, task)| task.0))
        .bind(new.now)
        .bind(new.actor)
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some(run_id) = run_id else {
        return Ok(None);
    };
    let mut task_ids = vec![TaskInstanceId(0); new.task_names.len()];
    on_tx!(tx, |conn| {
        for (chunk_idx, chunk) in new.task_names.chunks(TASKS_PER_INSERT).enumerate() {
            let mut insert = QueryBuilder::new(
                "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state) ",
            );
            insert.push_values(chunk.iter().enumerate(), |mut row, (offset, name)| {
                row.push_bind(run_id)
                    .push_bind(name)
                    .push_bind((chunk_idx * TASKS_PER_INSERT + offset) as i64)
                    .push_bind(1_i64)
                    .push_bind("pending");
            });
            insert.push(" RETURNING id, task_idx");
            let created: Vec<(i64, i64)> = insert.build_query_as().fetch_all(&mut *conn).await?;
            for (id, idx) in created {
                if let Some(slot) = usize::try_from(idx).ok().and_then(|i| task_ids.get_mut(i)) {
                    *slot = TaskInstanceId(id);
                }
            }
        }
    });
    let resource = format!("run/{run_id}");
    let entry = AuditEntry::new(
        new.actor,
        "run.start",
        &resource,
        None,
        Some(new.job_version),
    );
    write_audit(tx, &entry, new.now).await?;
    Ok(Some((RunId(run_id), task_ids)))
}

/// The run a fire created for (job, logical date), not counting explicit reruns.
pub(crate) async fn first_run_of(
    tx: &mut WriteTx,
    job_id: JobId,
    logical_date: Option<DateTime<Utc>>,
) -> Result<RunId, StoreError> {
    let id: i64 = on_tx!(tx, |conn| {
        sqlx::query_scalar(
            "SELECT id FROM runs WHERE job_id = $1 AND logical_date = $2 AND rerun_of IS NULL \
             AND trigger IN ('schedule', 'backfill')",
        )
        .bind(job_id.0)
        .bind(logical_date)
        .fetch_one(&mut *conn)
        .await?
    });
    Ok(RunId(id))
}

pub(crate) fn run_from_row(row: &impl StoreRow) -> Result<RunRecord, StoreError> {
    let state: String = row.value(5)?;
    let params: String = row.value(7)?;
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
        id: RunId(row.value(0)?),
        job_id: JobId(row.value(1)?),
        project: row.value(2)?,
        job_name: row.value(3)?,
        job_version: to_version(row.value(4)?)?,
        state: RunState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            what: "runs.state",
            message: format!("unknown state {state:?}"),
        })?,
        trigger: {
            let trigger: String = row.value(6)?;
            orrery_core::state::RunTrigger::from_name(&trigger).ok_or_else(|| {
                StoreError::Corrupt {
                    what: "runs.trigger",
                    message: format!("unknown trigger {trigger:?}"),
                }
            })?
        },
        params,
        logical_date: row.value(8)?,
        cancel_requested: row.value(9)?,
        created_at: row.value(10)?,
        created_by: row.value(11)?,
        started_at: row.value(12)?,
        finished_at: row.value(13)?,
        scheduled_at: row.value(14)?,
        data_interval_start: row.value(15)?,
        data_interval_end: row.value(16)?,
        backfill_id: row.value(17)?,
        rerun_of: row.value::<Option<i64>>(18)?.map(RunId),
        parent_run_id: row.value::<Option<i64>>(19)?.map(RunId),
        parent_task_id: row.value::<Option<i64>>(20)?.map(TaskInstanceId),
    })
}
