//! The audit log: who changed what, when, from which version to which.

use crate::error::StoreError;
use crate::jobs::to_version;
use crate::records::AuditRecord;
use crate::sqlite::Store;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One change to record, written in the same transaction as the change itself.
pub(crate) struct AuditEntry<'a> {
    actor: &'a str,
    action: &'a str,
    resource: &'a str,
    before_version: Option<u32>,
    after_version: Option<u32>,
}

impl<'a> AuditEntry<'a> {
    pub(crate) fn new(
        actor: &'a str,
        action: &'a str,
        resource: &'a str,
        before_version: Option<u32>,
        after_version: Option<u32>,
    ) -> Self {
        Self {
            actor,
            action,
            resource,
            before_version,
            after_version,
        }
    }
}

pub(crate) async fn write_audit(
    tx: &mut sqlx::SqliteConnection,
    entry: &AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, resource, before_version, after_version) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(now)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.resource)
    .bind(entry.before_version)
    .bind(entry.after_version)
    .execute(tx)
    .await?;
    Ok(())
}

impl Store {
    /// The newest audit entries first.
    pub async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, resource, before_version, after_version FROM audit_log ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let before: Option<i64> = row.try_get(5)?;
                let after: Option<i64> = row.try_get(6)?;
                Ok(AuditRecord {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    resource: row.try_get(4)?,
                    before_version: before.map(to_version).transpose()?,
                    after_version: after.map(to_version).transpose()?,
                })
            })
            .collect()
    }
}
