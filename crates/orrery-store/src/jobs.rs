//! Jobs and their versions: apply (create or new version when the spec changed),
//! read, list, soft-delete.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::records::{JobRecord, JobVersionRecord};
use crate::sqlite::Store;
use chrono::{DateTime, Utc};
use orrery_core::ids::JobId;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

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
        let JobApply {
            project,
            name,
            canonical_spec,
            actor,
            now,
            paused,
        } = *apply;
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query(
            "SELECT j.id, j.latest_version, v.spec FROM jobs j \
             JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version \
             WHERE j.project = ? AND j.name = ? AND j.deleted_at IS NULL",
        )
        .bind(project)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let resource = format!("job/{project}/{name}");
        let outcome = match existing {
            None => {
                let job_id: i64 = sqlx::query(
                    "INSERT INTO jobs (project, name, latest_version, created_at, updated_at, paused) \
                     VALUES (?, ?, 1, ?, ?, ?) RETURNING id",
                )
                .bind(project)
                .bind(name)
                .bind(now)
                .bind(now)
                .bind(paused.unwrap_or(false))
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
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
            Some(row) => {
                let job_id: i64 = row.try_get(0)?;
                let latest: i64 = row.try_get(1)?;
                let spec: String = row.try_get(2)?;
                let latest = to_version(latest)?;
                if spec == canonical_spec {
                    ApplyOutcome::Unchanged {
                        job_id: JobId(job_id),
                        version: latest,
                    }
                } else {
                    let version = latest + 1;
                    insert_version(&mut tx, job_id, version, canonical_spec, actor, now).await?;
                    sqlx::query(
                        "UPDATE jobs SET latest_version = ?, updated_at = ?, paused = COALESCE(?, paused) WHERE id = ?",
                    )
                    .bind(version)
                    .bind(now)
                    .bind(paused)
                    .bind(job_id)
                        .execute(&mut *tx)
                        .await?;
                    let entry = AuditEntry::new(
                        actor,
                        "job.update",
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// A live job by project and name.
    pub async fn find_job(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs j JOIN job_versions v ON v.job_id = j.id AND v.version = j.latest_version \
             WHERE j.project = ? AND j.name = ? AND j.deleted_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(project)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Every version of a job, newest first.
    pub async fn job_versions(&self, job_id: JobId) -> Result<Vec<JobVersionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, spec, created_at, created_by FROM job_versions WHERE job_id = ? ORDER BY version DESC",
        )
        .bind(job_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(JobVersionRecord {
                    version: to_version(row.try_get(0)?)?,
                    spec: row.try_get(1)?,
                    created_at: row.try_get(2)?,
                    created_by: row.try_get(3)?,
                })
            })
            .collect()
    }

    /// The spec of one version of a job (deleted jobs included, for their runs).
    pub async fn job_version_spec(
        &self,
        job_id: JobId,
        version: u32,
    ) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT spec FROM job_versions WHERE job_id = ? AND version = ?")
            .bind(job_id.0)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(row.try_get(0)?),
            None => Err(StoreError::NotFound {
                kind: "job version",
                id: format!("{job_id}@{version}"),
            }),
        }
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
        let row = sqlx::query(
            "UPDATE jobs SET deleted_at = ? WHERE project = ? AND name = ? AND deleted_at IS NULL \
             RETURNING latest_version",
        )
        .bind(now)
        .bind(project)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let version = to_version(row.try_get(0)?)?;
        let resource = format!("job/{project}/{name}");
        let entry = AuditEntry::new(actor, "job.delete", &resource, Some(version), None);
        write_audit(&mut tx, &entry, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_version(
    tx: &mut sqlx::SqliteConnection,
    job_id: i64,
    version: u32,
    spec: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO job_versions (job_id, version, spec, created_at, created_by) VALUES (?, ?, ?, ?, ?)")
        .bind(job_id)
        .bind(version)
        .bind(spec)
        .bind(now)
        .bind(actor)
        .execute(tx)
        .await?;
    Ok(())
}

pub(crate) fn job_from_row(row: &SqliteRow) -> Result<JobRecord, StoreError> {
    Ok(JobRecord {
        id: JobId(row.try_get(0)?),
        project: row.try_get(1)?,
        name: row.try_get(2)?,
        latest_version: to_version(row.try_get(3)?)?,
        created_at: row.try_get(4)?,
        updated_at: row.try_get(5)?,
        latest_spec: row.try_get(6)?,
        paused: row.try_get(7)?,
    })
}

/// Versions and attempts are stored as INTEGER; they are small and positive.
pub(crate) fn to_version(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        what: "version or attempt number",
        message: format!("{value} is out of range"),
    })
}
