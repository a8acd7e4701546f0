//! Creating the runs of a fire pass in bulk: one multi-row statement each for the
//! runs, their task instances and their audit rows, instead of three per run, so a
//! thousand jobs firing on the same second cost a handful of round trips.

use crate::audit::{AuditRow, append_audit};
use crate::error::StoreError;
use crate::exec::{WriteTx, on_tx};
use crate::runs::{NewRun, first_run_of};
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use sqlx::QueryBuilder;
use std::collections::HashMap;

/// Runs per statement: 14 bound values each, under SQLite's 32,766.
const RUNS_PER_STATEMENT: usize = 2_000;
/// Task instances per statement: 5 bound values each.
const TASKS_PER_STATEMENT: usize = 5_000;

/// What became of one new run: created (with its task ids in spec order), or it
/// already existed for its (job, logical date) and is named.
pub(crate) enum Inserted {
    Created(RunId, Vec<TaskInstanceId>),
    Existing(RunId),
}

/// Inserts `runs` (scheduled: each with a logical date, unique per job) with their
/// pending task instances and audit rows, in the transaction `tx`.
pub(crate) async fn insert_fired_runs(
    tx: &mut WriteTx,
    runs: &[&NewRun<'_>],
) -> Result<Vec<Inserted>, StoreError> {
    let mut ids: HashMap<(i64, Option<DateTime<Utc>>), i64> = HashMap::with_capacity(runs.len());
    for chunk in runs.chunks(RUNS_PER_STATEMENT) {
        let params: Vec<String> = chunk
            .iter()
            .map(|run| serde_json::Value::Object(run.params.clone()).to_string())
            .collect();
        let created: Vec<(i64, i64, Option<DateTime<Utc>>)> = on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO runs (job_id, job_version, state, trigger, params, logical_date, \
                 scheduled_at, data_interval_start, data_interval_end, backfill_id, rerun_of, \
                 parent_run_id, parent_task_id, created_at, created_by) ",
            );
            insert.push_values(chunk.iter().zip(&params), |mut row, (run, params)| {
                row.push_bind(run.job_id.0)
                    .push_bind(i64::from(run.job_version))
                    .push_bind("queued")
                    .push_bind(run.trigger.as_str())
                    .push_bind(params.clone())
                    .push_bind(run.logical_date)
                    .push_bind(run.schedule.scheduled_at)
                    .push_bind(run.schedule.data_interval_start)
                    .push_bind(run.schedule.data_interval_end)
                    .push_bind(run.schedule.backfill_id)
                    .push_bind(run.schedule.rerun_of.map(|id| id.0))
                    .push_bind(run.schedule.parent.map(|(run, _)| run.0))
                    .push_bind(run.schedule.parent.map(|(_, task)| task.0))
                    .push_bind(run.now)
                    .push_bind(run.actor);
            });
            insert.push(
                " ON CONFLICT (job_id, logical_date) WHERE rerun_of IS NULL \
                 AND trigger IN ('schedule', 'backfill') DO NOTHING \
                 RETURNING id, job_id, logical_date",
            );
            insert.build_query_as().fetch_all(&mut *conn).await?
        });
        for (id, job_id, logical_date) in created {
            ids.insert((job_id, logical_date), id);
        }
    }
    // Task instances of every created run, then one audit row each.
    let mut task_rows: Vec<(i64, &str, i64)> = Vec::new();
    let projects = projects_of_jobs(tx, runs).await?;
    let mut audit_rows: Vec<AuditRow> = Vec::new();
    for run in runs {
        if let Some(&id) = ids.get(&(run.job_id.0, run.logical_date)) {
            for (idx, name) in run.task_names.iter().enumerate() {
                task_rows.push((id, name.as_str(), idx as i64));
            }
            audit_rows.push(AuditRow::new(
                run.now,
                run.actor,
                run.project
                    .map(str::to_owned)
                    .or_else(|| projects.get(&run.job_id.0).cloned()),
                "run.start",
                format!("run/{id}"),
                None,
                Some(run.job_version),
                run.request,
            ));
        }
    }
    let mut task_ids: HashMap<i64, Vec<TaskInstanceId>> = HashMap::with_capacity(ids.len());
    for chunk in task_rows.chunks(TASKS_PER_STATEMENT) {
        let created: Vec<(i64, i64, i64)> = on_tx!(tx, |conn| {
            let mut insert = QueryBuilder::new(
                "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state) ",
            );
            insert.push_values(chunk, |mut row, (run_id, name, idx)| {
                row.push_bind(*run_id)
                    .push_bind(*name)
                    .push_bind(*idx)
                    .push_bind(1_i64)
                    .push_bind("pending");
            });
            insert.push(" RETURNING id, run_id, task_idx");
            insert.build_query_as().fetch_all(&mut *conn).await?
        });
        for (id, run_id, idx) in created {
            let slots = task_ids.entry(run_id).or_default();
            let idx = usize::try_from(idx).unwrap_or(usize::MAX);
            if slots.len() <= idx {
                slots.resize(idx + 1, TaskInstanceId(0));
            }
            if let Some(slot) = slots.get_mut(idx) {
                *slot = TaskInstanceId(id);
            }
        }
    }
    append_audit(tx, &audit_rows).await?;
    let mut results = Vec::with_capacity(runs.len());
    for run in runs {
        match ids.get(&(run.job_id.0, run.logical_date)) {
            Some(&id) => {
                let tasks = task_ids.remove(&id).unwrap_or_default();
                results.push(Inserted::Created(RunId(id), tasks));
            }
            None => {
                results.push(Inserted::Existing(
                    first_run_of(tx, JobId(run.job_id.0), run.logical_date).await?,
                ));
            }
        }
    }
    Ok(results)
}

/// The project of each job the runs belong to, for their audit rows.
async fn projects_of_jobs(
    tx: &mut WriteTx,
    runs: &[&NewRun<'_>],
) -> Result<HashMap<i64, String>, StoreError> {
    let mut ids: Vec<i64> = runs
        .iter()
        .filter(|run| run.project.is_none())
        .map(|run| run.job_id.0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut projects = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(RUNS_PER_STATEMENT) {
        let rows: Vec<(i64, String)> = on_tx!(tx, |conn| {
            let mut select = QueryBuilder::new("SELECT id, project FROM jobs WHERE id IN (");
            let mut list = select.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            select.push(")");
            select.build_query_as().fetch_all(&mut *conn).await?
        });
        projects.extend(rows);
    }
    Ok(projects)
}
