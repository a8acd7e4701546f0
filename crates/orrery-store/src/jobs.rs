//! Jobs and their versions: apply (create or new version when the spec changed),
//! read, list, soft-delete.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{WriteTx, on_pool, on_tx};
use crate::records::{JobRecord, JobVersionRecord};
use crate::row::{StoreRow, to_version};
use crate::store::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::JobId;

/// A spec to apply.
#[derive(Clone, Copy, Debug)]
pub struct JobApply<'a> {
    pub project: &'a str,
    pub name: &'a str,
    pub canonical_spec: &'a str,
    /// Sets the job's paused flag when the spec (re)defines it; `None` keeps it.
    pub paused: Option<bool>,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// What `apply_job` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Created { job_id: JobId },
    Updated { job_id: JobId, version: u32 },
    Unchanged { job_id: JobId, version: u32 },
}

pub(crate) const JOB_COLUMNS: &str =
    "j.id, j.project, j.name, j.latest_version, j.created_at, j.updated_at, v.spec, j.paused";

impl Store {
    /// Creates the job, or adds a version when `canonical_spec` differs from the latest.
    pub async fn apply_job(&self, apply: &JobApply<'_>) -> Result<ApplyOutcome, StoreError> {
        self.apply_job_as(apply, "job.update").await
    }

    /// Like [`apply_job`](Self::apply_job) for a spec that is an older version's,
    /// audited as `job.rollback`.
    pub async fn rollback_job(&self, apply: &JobApply<'_>) -> Result<ApplyOutcome, StoreError> {
        self.apply_job_as(apply, "job.rollback").await
    }

    /// Applies a spec; a new version is audited as `update_action`.
    async fn apply_job_as(
        &self,
        apply: &JobApply<'_>,
        update_action: &str,
    ) -> Result<ApplyOutcome, StoreError> {
        let JobApply {
            project,
            name,
            canonical_spec,
            actor,
            now,
            paused,
        } = *apply;
        let mut tx = self.write_tx().await?;
        let existing: Option<(i64, i64, String)> = on_tx!(&mut tx, |conn| {
            sqlx::query_as(
                "SELECT j.id, j.latest_version, v.spec FROM jobs j \
                 JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version \
                 WHERE j.project = $1 AND j.name = $2 AND j.deleted_at IS NULL",
            )
            .bind(project)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
        });
        let resource = format!("job/{project}/{name}");
        let outcome = match existing {
            None => {
                let job_id: i64 = on_tx!(&mut tx, |conn| {
                    sqlx::query_scalar(
                        "INSERT INTO jobs (project, name, latest_version, created_at, updated_at, paused) \
                         VALUES ($1, $2, 1, $3, $3, $4) RETURNING id",
                    )
                    .bind(project)
                    .bind(name)
                    .bind(now)
                    .bind(paused.unwrap_or(false))
                    .fetch_one(&mut *conn)
                    .await?
                });
                crate::job_calls::set_calls(&mut tx, project, name, canonical_spec).await?;
                insert_version(&mut tx, job_id, 1, canonical_spec, actor, now).await?;
                write_audit(
                    &mut tx,
                    &AuditEntry::new(actor, "job.create", &resource, None, Some(1)),
                    now,
                )
                .await?;
                ApplyOutcome::Created {
                    job_id: JobId(job_id),
                }
            }
            Some((job_id, latest, spec)) => {
                let latest = to_version(latest)?;
                if spec == canonical_spec {
                    ApplyOutcome::Unchanged {
                        job_id: JobId(job_id),
                        version: latest,
                    }
                } else {
                    let version = latest + 1;
                    crate::job_calls::set_calls(&mut tx, project, name, canonical_spec).await?;
                    insert_version(&mut tx, job_id, version, canonical_spec, actor, now).await?;
                    on_tx!(&mut tx, |conn| {
                        sqlx::query(
                            "UPDATE jobs SET latest_version = $1, updated_at = $2, \
                             paused = COALESCE($3, paused) WHERE id = $4",
                        )
                        .bind(i64::from(version))
                        .bind(now)
                        .bind(paused)
                        .bind(job_id)
                        .execute(&mut *conn)
                        .await?;
                    });
                    let entry = AuditEntry::new(
                        actor,
                        update_action,
                        &resource,
                        Some(latest),
                        Some(version),
                    );
                    write_audit(&mut tx, &entry, now).await?;
                    ApplyOutcome::Updated {
                        job_id: JobId(job_id),
                        version,
                    }
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Live jobs of every project, by project then name.
    pub async fn list_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version \
             WHERE j.deleted_at IS NULL ORDER BY j.project, j.name"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(job_from_row)
                .collect()
        })
    }

    /// A live job by project and name.
    pub async fn find_job(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version \
             WHERE j.project = $1 AND j.name = $2 AND j.deleted_at IS NULL"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(project)
                .bind(name)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(job_from_row)
                .transpose()
        })
    }

    /// Every version of a job, newest first.
    pub async fn job_versions(&self, job_id: JobId) -> Result<Vec<JobVersionRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT version, spec, created_at, created_by FROM job_versions \
                 WHERE job_id = $1 ORDER BY version DESC",
            )
            .bind(job_id.0)
            .fetch_all(pool)
            .await?
            .iter()
            .map(version_from_row)
            .collect()
        })
    }

    /// The spec of one version of a job (deleted jobs included, for their runs).
    pub async fn job_version_spec(
        &self,
        job_id: JobId,
        version: u32,
    ) -> Result<String, StoreError> {
        let spec: Option<String> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT spec FROM job_versions WHERE job_id = $1 AND version = $2")
                .bind(job_id.0)
                .bind(i64::from(version))
                .fetch_optional(pool)
                .await?
        });
        spec.ok_or_else(|| StoreError::NotFound {
            kind: "job version",
            id: format!("{job_id}@{version}"),
        })
    }

    /// Soft-deletes a live job; its runs and versions stay readable. `false` when no
    /// such job exists.
    pub async fn delete_job(
        &self,
        project: &str,
        name: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let version: Option<i64> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "UPDATE jobs SET deleted_at = $1 WHERE project = $2 AND name = $3 AND deleted_at IS NULL \
                 RETURNING latest_version",
            )
            .bind(now)
            .bind(project)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
        });
        let Some(version) = version else {
            return Ok(false);
        };
        let version = to_version(version)?;
        crate::job_calls::forget_calls(&mut tx, project, name).await?;
        let resource = format!("job/{project}/{name}");
        let entry = AuditEntry::new(actor, "job.delete", &resource, Some(version), None);
        write_audit(&mut tx, &entry, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_version(
    tx: &mut WriteTx,
    job_id: i64,
    version: u32,
    spec: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO job_versions (job_id, version, spec, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(job_id)
        .bind(i64::from(version))
        .bind(spec)
        .bind(now)
        .bind(actor)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

pub(crate) fn job_from_row(row: &impl StoreRow) -> Result<JobRecord, StoreError> {
    Ok(JobRecord {
        id: JobId(row.value(0)?),
        project: row.value(1)?,
        name: row.value(2)?,
        latest_version: to_version(row.value(3)?)?,
        created_at: row.value(4)?,
        updated_at: row.value(5)?,
        latest_spec: row.value(6)?,
        paused: row.value(7)?,
    })
}

fn version_from_row(row: &impl StoreRow) -> Result<JobVersionRecord, StoreError> {
    Ok(JobVersionRecord {
        version: to_version(row.value(0)?)?,
        spec: row.value(1)?,
        created_at: row.value(2)?,
        created_by: row.value(3)?,
    })
}
