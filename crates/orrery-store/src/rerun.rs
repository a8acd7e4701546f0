//! Reruns and reopening ended runs: a new run linked to an earlier one (optionally
//! keeping the tasks that succeeded), or new attempts for some tasks of an ended run,
//! which then runs again.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::on_tx;
use crate::runs::{NewRun, insert_run};
use crate::store::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use std::collections::BTreeMap;

/// A task of the original run whose success the rerun keeps.
#[derive(Clone, Debug)]
pub struct KeptTask {
    pub task_name: String,
    pub outputs: BTreeMap<String, String>,
    pub exit_code: Option<i32>,
}

/// A new attempt to add to a task of an ended run.
#[derive(Clone, Debug)]
pub struct TaskReset {
    pub task_name: String,
    /// `pending` (run it again), or `success`/`skipped` (marked by hand).
    pub state: &'static str,
    /// Shown on the attempt, e.g. who marked it.
    pub note: Option<String>,
}

impl Store {
    /// Creates a rerun (its `schedule.rerun_of` set); the kept tasks start as
    /// `success` with their outputs, the others `pending`.
    pub async fn create_rerun(
        &self,
        new: &NewRun<'_>,
        kept: &[KeptTask],
    ) -> Result<RunId, StoreError> {
        let mut tx = self.write_tx().await?;
        let run_id = insert_run(&mut tx, new)
            .await?
            .ok_or_else(|| StoreError::Conflict {
                message: "the rerun could not be created".to_owned(),
            })?;
        for task in kept {
            let outputs =
                serde_json::to_string(&task.outputs).map_err(|e| StoreError::Corrupt {
                    what: "task outputs",
                    message: e.to_string(),
                })?;
            let original = new.schedule.rerun_of.map_or(0, |id| id.0);
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "UPDATE task_instances SET state = 'success', outputs = $1, exit_code = $2, error = $3, \
                     started_at = $4, finished_at = $4 WHERE run_id = $5 AND task_name = $6 AND attempt = 1",
                )
                .bind(&outputs)
                .bind(task.exit_code.map(i64::from))
                .bind(format!("kept from run {original}"))
                .bind(new.now)
                .bind(run_id.0)
                .bind(&task.task_name)
                .execute(&mut *conn)
                .await?;
            });
        }
        tx.commit().await?;
        Ok(run_id)
    }

    /// Adds the given attempts to an ended run and queues it again, so the scheduler
    /// carries on from there. Refused (conflict) while the run is still active.
    pub async fn reopen_run(
        &self,
        run_id: RunId,
        resets: &[TaskReset],
        action: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let reopened = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE runs SET state = 'queued', finished_at = NULL, started_at = NULL, \
                 cancel_requested = FALSE WHERE id = $1 AND state IN ('success', 'failed', 'cancelled')",
            )
            .bind(run_id.0)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if reopened == 0 {
            return Err(StoreError::Conflict {
                message: format!(
                    "run {run_id} is still active (or does not exist); wait for it to end or cancel it"
                ),
            });
        }
        for reset in resets {
            let latest: Option<(i64, i64)> = on_tx!(&mut tx, |conn| {
                sqlx::query_as(
                    "SELECT task_idx, MAX(attempt) FROM task_instances \
                     WHERE run_id = $1 AND task_name = $2 GROUP BY task_idx",
                )
                .bind(run_id.0)
                .bind(&reset.task_name)
                .fetch_optional(&mut *conn)
                .await?
            });
            let (task_idx, attempt) = latest.ok_or_else(|| StoreError::NotFound {
                kind: "task",
                id: format!("{} in run {run_id}", reset.task_name),
            })?;
            let finished = (reset.state != "pending").then_some(now);
            on_tx!(&mut tx, |conn| {
                sqlx::query(
                    "INSERT INTO task_instances (run_id, task_name, task_idx, attempt, state, error, \
                     started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(run_id.0)
                .bind(&reset.task_name)
                .bind(task_idx)
                .bind(attempt + 1)
                .bind(reset.state)
                .bind(&reset.note)
                .bind(finished)
                .execute(&mut *conn)
                .await?;
            });
        }
        let resource = format!("run/{run_id}");
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, action, &resource, None, None),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
