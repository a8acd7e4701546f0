//! Calendars (named sets of dates that schedules exclude) and backfills.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::records::CalendarRecord;
use crate::row::StoreRow;
use crate::runs::{NewRun, first_run_of, insert_run};
use crate::store::Store;
use crate::triggers::FireOutcome;
use chrono::{DateTime, Utc};
use orrery_core::ids::JobId;

/// A backfill to record.
#[derive(Clone, Copy, Debug)]
pub struct NewBackfill<'a> {
    pub job_id: JobId,
    pub range_start: DateTime<Utc>,
    pub range_end: DateTime<Utc>,
    pub parallelism: u32,
    /// Fires whose latest run failed or was cancelled get a new run (a rerun).
    pub rerun_failed: bool,
    /// Fire times of the range that an `exclude:` calendar rules out, with the reason:
    /// recorded `excluded` in the occurrence ledger, as live fires are.
    pub excluded: &'a [(DateTime<Utc>, String)],
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// What applying a calendar did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalendarApplied {
    Created,
    Updated,
    Unchanged,
}

impl Store {
    /// Creates or replaces a calendar, saying which happened.
    pub async fn apply_calendar(
        &self,
        project: &str,
        name: &str,
        canonical_spec: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CalendarApplied, StoreError> {
        let mut tx = self.write_tx().await?;
        let existing: Option<String> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar("SELECT spec FROM calendars WHERE project = $1 AND name = $2")
                .bind(project)
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?
        });
        if existing.as_deref() == Some(canonical_spec) {
            tx.rollback().await?;
            return Ok(CalendarApplied::Unchanged);
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO calendars (project, name, spec, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (project, name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
            )
            .bind(project)
            .bind(name)
            .bind(canonical_spec)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        let action = if existing.is_some() {
            "calendar.update"
        } else {
            "calendar.create"
        };
        let resource = format!("calendar/{project}/{name}");
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, action, &resource, None, None),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(if existing.is_some() {
            CalendarApplied::Updated
        } else {
            CalendarApplied::Created
        })
    }

    /// Every calendar of a project.
    pub async fn list_calendars(&self, project: &str) -> Result<Vec<CalendarRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT project, name, spec, updated_at FROM calendars WHERE project = $1 ORDER BY name",
            )
            .bind(project)
            .fetch_all(pool)
            .await?
            .iter()
            .map(calendar_from_row)
            .collect()
        })
    }

    /// Records a backfill and creates its runs in one transaction; fires that already
    /// have a run are left alone. When every fire already had one, nothing is written
    /// and the id is `None`.
    pub async fn create_backfill(
        &self,
        new: &NewBackfill<'_>,
        runs: &[NewRun<'_>],
    ) -> Result<(Option<i64>, Vec<FireOutcome>), StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "INSERT INTO backfills (job_id, range_start, range_end, parallelism, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(new.job_id.0)
            .bind(new.range_start)
            .bind(new.range_end)
            .bind(i64::from(new.parallelism))
            .bind(new.now)
            .bind(new.actor)
            .fetch_one(&mut *conn)
            .await?
        });
        let mut outcomes = Vec::with_capacity(runs.len());
        for run in runs {
            let mut run = run.clone();
            run.schedule.backfill_id = Some(id);
            let outcome = match insert_run(&mut tx, &run).await? {
                Some(run_id) => FireOutcome::Created(run_id),
                None => {
                    let existing = first_run_of(&mut tx, new.job_id, run.logical_date).await?;
                    let latest_state: String = on_tx!(&mut tx, |conn| {
                        sqlx::query_scalar(
                            "SELECT state FROM runs WHERE job_id = $1 AND logical_date = $2 AND trigger <> 'manual' \
                             ORDER BY id DESC LIMIT 1",
                        )
                        .bind(new.job_id.0)
                        .bind(run.logical_date)
                        .fetch_one(&mut *conn)
                        .await?
                    });
                    if new.rerun_failed && matches!(latest_state.as_str(), "failed" | "cancelled") {
                        run.schedule.rerun_of = Some(existing);
                        match insert_run(&mut tx, &run).await? {
                            Some(run_id) => FireOutcome::Created(run_id),
                            None => FireOutcome::AlreadyExisted(existing),
                        }
                    } else {
                        FireOutcome::AlreadyExisted(existing)
                    }
                }
            };
            outcomes.push(outcome);
        }
        on_tx!(&mut tx, |conn| {
            for (nominal_at, reason) in new.excluded {
                sqlx::query(
                    "INSERT INTO occurrences (job_id, nominal_at, outcome, run_id, reason, recorded_at) \
                     VALUES ($1, $2, 'excluded', NULL, $3, $4) ON CONFLICT (job_id, nominal_at) DO NOTHING",
                )
                .bind(new.job_id.0)
                .bind(*nominal_at)
                .bind(reason)
                .bind(new.now)
                .execute(&mut *conn)
                .await?;
            }
        });
        if !outcomes
            .iter()
            .any(|o| matches!(o, FireOutcome::Created(_)))
        {
            if new.excluded.is_empty() {
                tx.rollback().await?;
            } else {
                // Nothing to run, but the excluded dates are recorded.
                on_tx!(&mut tx, |conn| {
                    sqlx::query("DELETE FROM backfills WHERE id = $1")
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                });
                tx.commit().await?;
            }
            return Ok((None, outcomes));
        }
        let resource = format!("backfill/{id}");
        write_audit(
            &mut tx,
            &AuditEntry::new(new.actor, "backfill.create", &resource, None, None),
            new.now,
        )
        .await?;
        tx.commit().await?;
        Ok((Some(id), outcomes))
    }

    /// The parallelism of a backfill.
    pub async fn backfill_parallelism(&self, id: i64) -> Result<u32, StoreError> {
        let parallelism: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT parallelism FROM backfills WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        match parallelism {
            Some(parallelism) => Ok(u32::try_from(parallelism).unwrap_or(1)),
            None => Err(StoreError::NotFound {
                kind: "backfill",
                id: id.to_string(),
            }),
        }
    }
}

fn calendar_from_row(row: &impl StoreRow) -> Result<CalendarRecord, StoreError> {
    Ok(CalendarRecord {
        project: row.value(0)?,
        name: row.value(1)?,
        spec: row.value(2)?,
        updated_at: row.value(3)?,
    })
}
