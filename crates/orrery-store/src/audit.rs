//! The audit log: who changed what, when, from which version to which.

use crate::error::StoreError;
use crate::exec::{WriteTx, on_pool, on_tx};
use crate::records::AuditRecord;
use crate::row::{StoreRow, to_version};
use crate::store::Store;
use chrono::{DateTime, Utc};

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
    tx: &mut WriteTx,
    entry: &AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, resource, before_version, after_version) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.resource)
        .bind(entry.before_version.map(i64::from))
        .bind(entry.after_version.map(i64::from))
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

impl Store {
    /// The newest audit entries first.
    pub async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, at, actor, action, resource, before_version, after_version \
                 FROM audit_log ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
            .iter()
            .map(audit_from_row)
            .collect()
        })
    }
}

fn audit_from_row(row: &impl StoreRow) -> Result<AuditRecord, StoreError> {
    let before: Option<i64> = row.value(5)?;
    let after: Option<i64> = row.value(6)?;
    Ok(AuditRecord {
        id: row.value(0)?,
        at: row.value(1)?,
        actor: row.value(2)?,
        action: row.value(3)?,
        resource: row.value(4)?,
        before_version: before.map(to_version).transpose()?,
        after_version: after.map(to_version).transpose()?,
    })
}
