//! Scheduled jobs: their timers (`job_triggers`), the occurrence ledger, pausing,
//! and firing — creating a fire's run, its ledger entry and the next fire time in one
//! transaction, so a fire is never lost and never runs twice.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::fire_runs::{Inserted, insert_fired_runs};
use crate::jobs::{JOB_COLUMNS, job_from_row};
use crate::leader::LeaderStore;
use crate::records::{OccurrenceRecord, ScheduledJobRecord, TriggerRecord};
use crate::row::{StoreRow, to_version};
use crate::runs::NewRun;
use crate::store::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use sqlx::QueryBuilder;
use std::collections::{HashMap, HashSet};

/// One nominal fire and what to do with it.
#[derive(Clone, Debug)]
pub struct PlannedFire<'a> {
    pub nominal_at: DateTime<Utc>,
    /// `fired`, `skipped_overlap`, `missed`, `excluded` or `paused`.
    pub outcome: orrery_core::state::FireFate,
    pub reason: Option<String>,
    /// The run to create when the outcome is `fired`.
    pub run: Option<NewRun<'a>>,
}

/// The due fires of one job and where its timer goes next.
#[derive(Clone, Debug)]
pub struct JobFires<'a> {
    pub job_id: JobId,
    pub version: u32,
    pub fires: Vec<PlannedFire<'a>>,
    pub next_fire_at: Option<DateTime<Utc>>,
}

/// One occurrence to write: job, nominal time, outcome, run, reason.
type LedgerRow<'a> = (JobId, DateTime<Utc>, &'a str, Option<i64>, Option<&'a str>);

/// Rows per bulk statement: at most 6 bound values each, under SQLite's 32766.
const ROWS_PER_STATEMENT: usize = 4000;

/// What `record_fires` did: per job, per fire; and the task ids of created runs.
#[derive(Clone, Debug, Default)]
pub struct FiresStored {
    pub outcomes: Vec<Vec<FireOutcome>>,
    pub created_tasks: HashMap<RunId, Vec<TaskInstanceId>>,
}

/// What storing a planned fire did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FireOutcome {
    /// A new run was created.
    Created(RunId),
    /// A run for this logical date already existed (another process fired it).
    AlreadyExisted(RunId),
    /// No run was asked for.
    Recorded,
    /// A run was asked for, but the job was paused when the fire was stored (a pause
    /// the scheduler had not seen yet): the fire is recorded `paused` and no run made.
    Paused,
}

/// The reason a fire of a paused job carries in the ledger.
pub const PAUSED_REASON: &str = "the job was paused";

const SCHEDULED_JOBS: &str = "FROM jobs j \
     JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version \
     LEFT JOIN job_triggers t ON t.job_id = j.id";

const UPSERT_TRIGGER_TAIL: &str = " ON CONFLICT (job_id) DO UPDATE SET version = excluded.version, \
     next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at";

impl Store {
    /// Every live job with its trigger row, if any.
    pub async fn scheduled_jobs(&self) -> Result<Vec<ScheduledJobRecord>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS}, t.version, t.next_fire_at, t.job_id {SCHEDULED_JOBS} \
             WHERE j.deleted_at IS NULL ORDER BY j.id"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(scheduled_from_row)
                .collect()
        })
    }

    /// The ledger of a job, newest first.
    pub async fn list_occurrences(
        &self,
        job_id: JobId,
        limit: u32,
    ) -> Result<Vec<OccurrenceRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT nominal_at, outcome, run_id, reason, recorded_at FROM occurrences \
                 WHERE job_id = $1 ORDER BY nominal_at DESC LIMIT $2",
            )
            .bind(job_id.0)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
            .iter()
            .map(occurrence_from_row)
            .collect()
        })
    }

    /// Pauses or resumes a live job; `None` when there is no such job. The audit row
    /// records the version that was current.
    pub async fn set_paused(
        &self,
        project: &str,
        name: &str,
        paused: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::records::JobRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let version: Option<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "UPDATE jobs SET paused = $1, updated_at = $2 \
                 WHERE project = $3 AND name = $4 AND deleted_at IS NULL RETURNING latest_version",
            )
            .bind(paused)
            .bind(now)
            .bind(project)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
        });
        let Some(version) = version else {
            return Ok(None);
        };
        let version = to_version(version)?;
        let action = if paused { "job.pause" } else { "job.resume" };
        let resource = format!("job/{project}/{name}");
        write_audit(
            &mut tx,
            &AuditEntry::new(actor, action, &resource, Some(version), Some(version)),
            now,
        )
        .await?;
        tx.commit().await?;
        self.find_job(project, name).await
    }
}

impl LeaderStore {
    /// Sets where a job's timer stands.
    pub async fn set_trigger(
        &self,
        job_id: JobId,
        version: u32,
        next_fire_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO job_triggers (job_id, version, next_fire_at, updated_at) \
             VALUES ($1, $2, $3, $4){UPSERT_TRIGGER_TAIL}"
        );
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(job_id.0)
                .bind(i64::from(version))
                .bind(next_fire_at)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a job's timer (its schedule was removed).
    pub async fn delete_trigger(&self, job_id: JobId) -> Result<(), StoreError> {
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM job_triggers WHERE job_id = $1")
                .bind(job_id.0)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Stores the fires of several jobs and their next fire times in one transaction
    /// (a group commit). A run whose logical date already has one is not created again.
    pub async fn record_fires(
        &self,
        batch: &[JobFires<'_>],
        alerts: &[crate::NewAlertEvent],
        now: DateTime<Utc>,
    ) -> Result<FiresStored, StoreError> {
        let mut tx = self.store.write_tx().await?;
        crate::alert_outbox::insert_alert_events(&mut tx, alerts).await?;
        // A pause committed before this transaction wins over a fire the scheduler
        // planned before it saw the pause: once a pause is acknowledged, no fire runs.
        let paused = paused_among(&mut tx, batch).await?;
        let mut all = Vec::with_capacity(batch.len());
        let mut created_tasks = HashMap::new();
        // Every run of the pass is inserted in bulk first; ledger entries (which need
        // the run ids) follow in bulk too.
        let new_runs: Vec<&NewRun<'_>> = batch
            .iter()
            .filter(|job| !paused.contains(&job.job_id))
            .flat_map(|job| job.fires.iter().filter_map(|fire| fire.run.as_ref()))
            .collect();
        let mut inserted = insert_fired_runs(&mut tx, &new_runs).await?.into_iter();
        let mut ledger: Vec<LedgerRow<'_>> = Vec::new();
        for job in batch {
            let job_paused = paused.contains(&job.job_id);
            let mut outcomes = Vec::with_capacity(job.fires.len());
            for fire in &job.fires {
                if job_paused && fire.run.is_some() {
                    ledger.push((
                        job.job_id,
                        fire.nominal_at,
                        orrery_core::state::FireFate::Paused.as_str(),
                        None,
                        Some(PAUSED_REASON),
                    ));
                    outcomes.push(FireOutcome::Paused);
                    continue;
                }
                let outcome = match (&fire.run, fire.run.as_ref().and_then(|_| inserted.next())) {
                    (Some(_), Some(Inserted::Created(id, task_ids))) => {
                        created_tasks.insert(id, task_ids);
                        FireOutcome::Created(id)
                    }
                    (Some(_), Some(Inserted::Existing(id))) => FireOutcome::AlreadyExisted(id),
                    _ => FireOutcome::Recorded,
                };
                let run_id = match outcome {
                    FireOutcome::Created(id) | FireOutcome::AlreadyExisted(id) => Some(id.0),
                    FireOutcome::Recorded | FireOutcome::Paused => None,
                };
                ledger.push((
                    job.job_id,
                    fire.nominal_at,
                    fire.outcome.as_str(),
                    run_id,
                    fire.reason.as_deref(),
                ));
                outcomes.push(outcome);
            }
            all.push(outcomes);
        }
        // A paused job's timer stays at its first fire not run, as for fires recorded
        // while paused, so the misfire policy at resume sees them.
        let timers: Vec<(JobId, u32, Option<DateTime<Utc>>)> = last_per_job(batch)
            .into_iter()
            .map(|job| {
                let first_held = paused
                    .contains(&job.job_id)
                    .then(|| first_held_fire(batch, job.job_id))
                    .flatten();
                (job.job_id, job.version, first_held.or(job.next_fire_at))
            })
            .collect();
        on_tx!(&mut tx, |conn| {
            for chunk in ledger.chunks(ROWS_PER_STATEMENT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO occurrences (job_id, nominal_at, outcome, run_id, reason, recorded_at) ",
                );
                insert.push_values(
                    chunk,
                    |mut row, (job_id, nominal_at, outcome, run_id, reason)| {
                        row.push_bind(job_id.0)
                            .push_bind(*nominal_at)
                            .push_bind(*outcome)
                            .push_bind(*run_id)
                            .push_bind(*reason)
                            .push_bind(now);
                    },
                );
                // A fire recorded `paused` while its job was paused takes its final
                // outcome when the job resumes; any other entry is final.
                insert.push(
                    " ON CONFLICT (job_id, nominal_at) DO UPDATE SET outcome = excluded.outcome, \
                     run_id = excluded.run_id, reason = excluded.reason, \
                     recorded_at = excluded.recorded_at WHERE occurrences.outcome = 'paused'",
                );
                insert.build().execute(&mut *conn).await?;
            }
            for chunk in timers.chunks(ROWS_PER_STATEMENT) {
                let mut upsert = QueryBuilder::new(
                    "INSERT INTO job_triggers (job_id, version, next_fire_at, updated_at) ",
                );
                upsert.push_values(chunk, |mut row, (job_id, version, next_fire_at)| {
                    row.push_bind(job_id.0)
                        .push_bind(i64::from(*version))
                        .push_bind(*next_fire_at)
                        .push_bind(now);
                });
                upsert.push(UPSERT_TRIGGER_TAIL);
                upsert.build().execute(&mut *conn).await?;
            }
        });
        tx.commit().await?;
        Ok(FiresStored {
            outcomes: all,
            created_tasks,
        })
    }

    /// Changes the recorded outcome of one fire, keeping its run: a run made ahead of
    /// its time whose job was paused before then is cancelled, and its fire is recorded
    /// as `paused` with the reason. False when the job has no such fire.
    pub async fn reclassify_fire(
        &self,
        job_id: JobId,
        nominal_at: DateTime<Utc>,
        outcome: orrery_core::state::FireFate,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.write_tx().await?;
        let changed = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE occurrences SET outcome = $1, reason = $2 \
                 WHERE job_id = $3 AND nominal_at = $4",
            )
            .bind(outcome.as_str())
            .bind(reason)
            .bind(job_id.0)
            .bind(nominal_at)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(changed > 0)
    }
}

impl Store {
    /// A job's trigger row, if it has one.
    pub async fn trigger(&self, job_id: JobId) -> Result<Option<TriggerRecord>, StoreError> {
        let row: Option<(i64, Option<DateTime<Utc>>)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT version, next_fire_at FROM job_triggers WHERE job_id = $1")
                .bind(job_id.0)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(version, next_fire_at)| {
            Ok(TriggerRecord {
                version: to_version(version)?,
                next_fire_at,
            })
        })
        .transpose()
    }
}

impl Store {
    /// A number that moves whenever any job is created, changes version, is paused or
    /// resumed, or is deleted (database triggers move it in the same transaction). Equal
    /// readings mean no job changed in between, so a poll can skip
    /// [`Store::job_versions_brief`].
    pub async fn jobs_change_count(&self) -> Result<i64, StoreError> {
        self.change_count("jobs").await
    }

    /// A number that moves whenever an ended run becomes active again (a database
    /// trigger moves it): such a run is not among [`Store::active_runs_after`].
    pub async fn runs_reopened_count(&self) -> Result<i64, StoreError> {
        self.change_count("runs_reopened").await
    }

    async fn change_count(&self, name: &str) -> Result<i64, StoreError> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT value FROM change_counters WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// Every live job's id, latest version and paused flag: the cheap check the
    /// scheduler makes each poll before reading any spec.
    pub async fn job_versions_brief(&self) -> Result<Vec<(JobId, u32, bool)>, StoreError> {
        let rows: Vec<(i64, i64, bool)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, latest_version, paused FROM jobs WHERE deleted_at IS NULL")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(id, version, paused)| Ok((JobId(id), to_version(version)?, paused)))
            .collect()
    }

    /// Every live job with its version, paused flag and stored timer (the timer's
    /// version and next fire time), in one query: what a starting scheduler needs to
    /// arm every timer without reading a single spec.
    pub async fn job_timers(&self) -> Result<Vec<JobTimer>, StoreError> {
        type Row = (i64, i64, bool, Option<i64>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT j.id, j.latest_version, j.paused, t.version, t.next_fire_at \
                 FROM jobs j LEFT JOIN job_triggers t ON t.job_id = j.id \
                 WHERE j.deleted_at IS NULL",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, version, paused, timer_version, next_fire_at)| {
                Ok(JobTimer {
                    job_id: JobId(id),
                    version: to_version(version)?,
                    paused,
                    timer: timer_version
                        .map(|v| to_version(v).map(|v| (v, next_fire_at)))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// One live job with its trigger row, if it exists.
    pub async fn scheduled_job(
        &self,
        job_id: JobId,
    ) -> Result<Option<ScheduledJobRecord>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS}, t.version, t.next_fire_at, t.job_id {SCHEDULED_JOBS} \
             WHERE j.id = $1 AND j.deleted_at IS NULL"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(job_id.0)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(scheduled_from_row)
                .transpose()
        })
    }
}

/// A live job and its stored timer, from [`Store::job_timers`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobTimer {
    pub job_id: JobId,
    pub version: u32,
    pub paused: bool,
    /// The stored timer's job version and next fire time (`None`: no more fires).
    pub timer: Option<(u32, Option<DateTime<Utc>>)>,
}

/// Each job's last entry in `batch`, in batch order: PostgreSQL refuses to upsert one
/// row twice in a statement, and on SQLite the last one would win anyway.
/// The jobs of the batch that would get a run and are paused in the store now.
async fn paused_among(
    tx: &mut crate::exec::WriteTx,
    batch: &[JobFires<'_>],
) -> Result<HashSet<JobId>, StoreError> {
    let ids: Vec<i64> = batch
        .iter()
        .filter(|job| job.fires.iter().any(|fire| fire.run.is_some()))
        .map(|job| job.job_id.0)
        .collect();
    let mut paused = HashSet::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<i64> = on_tx!(tx, |conn| {
            let mut select = QueryBuilder::new("SELECT id FROM jobs WHERE paused AND id IN (");
            let mut list = select.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            select.push(")");
            select.build_query_scalar().fetch_all(&mut *conn).await?
        });
        paused.extend(rows.into_iter().map(JobId));
    }
    Ok(paused)
}

/// The earliest fire of a job in the batch that asked for a run.
fn first_held_fire(batch: &[JobFires<'_>], job_id: JobId) -> Option<DateTime<Utc>> {
    batch
        .iter()
        .filter(|job| job.job_id == job_id)
        .flat_map(|job| job.fires.iter())
        .filter(|fire| fire.run.is_some())
        .map(|fire| fire.nominal_at)
        .min()
}

fn last_per_job<'b, 'a>(batch: &'b [JobFires<'a>]) -> Vec<&'b JobFires<'a>> {
    let mut last: HashMap<i64, usize> = HashMap::with_capacity(batch.len());
    for (position, job) in batch.iter().enumerate() {
        last.insert(job.job_id.0, position);
    }
    batch
        .iter()
        .enumerate()
        .filter(|(position, job)| last.get(&job.job_id.0) == Some(position))
        .map(|(_, job)| job)
        .collect()
}

fn scheduled_from_row(row: &impl StoreRow) -> Result<ScheduledJobRecord, StoreError> {
    let has_trigger: Option<i64> = row.value(10)?;
    let trigger = match has_trigger {
        Some(_) => Some(TriggerRecord {
            version: to_version(row.value(8)?)?,
            next_fire_at: row.value(9)?,
        }),
        None => None,
    };
    Ok(ScheduledJobRecord {
        job: job_from_row(row)?,
        trigger,
    })
}

fn occurrence_from_row(row: &impl StoreRow) -> Result<OccurrenceRecord, StoreError> {
    let run_id: Option<i64> = row.value(2)?;
    Ok(OccurrenceRecord {
        nominal_at: row.value(0)?,
        outcome: {
            let outcome: String = row.value(1)?;
            orrery_core::state::FireFate::from_name(&outcome).ok_or_else(|| {
                StoreError::Corrupt {
                    what: "occurrences.outcome",
                    message: format!("unknown outcome {outcome:?}"),
                }
            })?
        },
        run_id: run_id.map(RunId),
        reason: row.value(3)?,
        recorded_at: row.value(4)?,
    })
}
