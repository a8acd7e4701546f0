//! The API's side of alerting: applied receivers and routes, silences, and reading
//! alerts and the delivery history.

use crate::alert_outbox::{NOTIFICATION_COLUMNS, notification_from_row};
use crate::alert_records::{
    AlertConfigRecord, AlertRecord, LabelMap, NotificationRecord, SilenceRecord, labels_from_json,
    labels_to_json,
};
use crate::audit::{AuditEntry, write_audit};
use crate::calendars::CalendarApplied;
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::row::StoreRow;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// A silence to create.
#[derive(Clone, Debug)]
pub struct NewSilence<'a> {
    pub project: &'a str,
    pub matchers: &'a LabelMap,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: &'a str,
    pub actor: &'a str,
}

const ALERT_COLUMNS: &str = "id, project, fingerprint, alertname, labels, annotations, starts_at, \
     updated_at, resolved_at";
const SILENCE_COLUMNS: &str =
    "id, project, matchers, starts_at, ends_at, comment, created_by, created_at";

impl Store {
    /// Creates or replaces a receiver or route (`kind`), saying which happened.
    pub async fn apply_alert_config(
        &self,
        config: &AlertConfigRecord,
        actor: &str,
    ) -> Result<CalendarApplied, StoreError> {
        let mut tx = self.write_tx().await?;
        let existing: Option<String> = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "SELECT spec FROM alert_configs WHERE project = $1 AND kind = $2 AND name = $3",
            )
            .bind(&config.project)
            .bind(&config.kind)
            .bind(&config.name)
            .fetch_optional(&mut *conn)
            .await?
        });
        if existing.as_deref() == Some(config.spec.as_str()) {
            tx.rollback().await?;
            return Ok(CalendarApplied::Unchanged);
        }
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO alert_configs (project, kind, name, spec, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (project, kind, name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
            )
            .bind(&config.project)
            .bind(&config.kind)
            .bind(&config.name)
            .bind(&config.spec)
            .bind(config.updated_at)
            .execute(&mut *conn)
            .await?;
        });
        let verb = if existing.is_some() {
            "update"
        } else {
            "create"
        };
        let kind = config.kind.to_ascii_lowercase();
        let action = format!("{kind}.{verb}");
        let resource = format!("{kind}/{}/{}", config.project, config.name);
        let entry = AuditEntry::new(actor, &action, &resource, None, None);
        write_audit(&mut tx, &entry, config.updated_at).await?;
        tx.commit().await?;
        Ok(if existing.is_some() {
            CalendarApplied::Updated
        } else {
            CalendarApplied::Created
        })
    }

    /// Applied receivers and routes of one project, or of all.
    pub async fn alert_configs_of(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<AlertConfigRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT project, kind, name, spec, updated_at FROM alert_configs \
                 WHERE ($1 IS NULL OR project = $1) ORDER BY project, kind, name",
            )
            .bind(project)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok(AlertConfigRecord {
                    project: row.value(0)?,
                    kind: row.value(1)?,
                    name: row.value(2)?,
                    spec: row.value(3)?,
                    updated_at: row.value(4)?,
                })
            })
            .collect()
        })
    }

    /// Alerts matching `condition` (a fixed SQL condition), newest first.
    pub(crate) async fn alerts_where(
        &self,
        condition: &str,
        project: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE {condition} AND ($1 IS NULL OR project = $1) \
             ORDER BY id DESC LIMIT $2"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(project)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    Ok(AlertRecord {
                        id: row.value(0)?,
                        project: row.value(1)?,
                        fingerprint: row.value(2)?,
                        alertname: row.value(3)?,
                        labels: labels_from_json(&row.value::<String>(4)?)?,
                        annotations: labels_from_json(&row.value::<String>(5)?)?,
                        starts_at: row.value(6)?,
                        updated_at: row.value(7)?,
                        resolved_at: row.value(8)?,
                    })
                })
                .collect()
        })
    }

    /// A project's alerts, newest first: those firing, those resolved, or all.
    pub async fn list_alerts(
        &self,
        project: &str,
        firing: Option<bool>,
        limit: u32,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let condition = match firing {
            Some(true) => "resolved_at IS NULL",
            Some(false) => "resolved_at IS NOT NULL",
            None => "1 = 1",
        };
        self.alerts_where(condition, Some(project), limit).await
    }

    /// A project's notifications, newest first.
    pub async fn list_notifications(
        &self,
        project: &str,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE project = $1 ORDER BY id DESC LIMIT $2"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(project)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(notification_from_row)
                .collect()
        })
    }

    /// Creates a silence, audited; returns its id.
    pub async fn create_silence(
        &self,
        new: &NewSilence<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id: i64 = on_tx!(&mut tx, |conn| {
            sqlx::query_scalar(
                "INSERT INTO silences (project, matchers, starts_at, ends_at, comment, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(new.project)
            .bind(labels_to_json(new.matchers))
            .bind(new.starts_at)
            .bind(new.ends_at)
            .bind(new.comment)
            .bind(new.actor)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?
        });
        let resource = format!("silence/{}/{id}", new.project);
        let entry = AuditEntry::new(new.actor, "silence.create", &resource, None, None);
        write_audit(&mut tx, &entry, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Ends a silence now (it stays listed as expired), audited. `false` when the
    /// project has no such silence or it has already ended.
    pub async fn expire_silence(
        &self,
        project: &str,
        id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let changed = on_tx!(&mut tx, |conn| {
            sqlx::query(
                "UPDATE silences SET ends_at = $3 WHERE project = $1 AND id = $2 AND ends_at > $3",
            )
            .bind(project)
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let resource = format!("silence/{project}/{id}");
        let entry = AuditEntry::new(actor, "silence.expire", &resource, None, None);
        write_audit(&mut tx, &entry, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Silences of one project (or all), newest first; with `live_at`, only those
    /// that have not ended by then.
    pub async fn silences_of(
        &self,
        project: Option<&str>,
        live_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<SilenceRecord>, StoreError> {
        let sql = format!(
            "SELECT {SILENCE_COLUMNS} FROM silences WHERE ($1 IS NULL OR project = $1) \
             AND ($2 IS NULL OR ends_at > $2) ORDER BY id DESC"
        );
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(project)
                .bind(live_at)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    Ok(SilenceRecord {
                        id: row.value(0)?,
                        project: row.value(1)?,
                        matchers: labels_from_json(&row.value::<String>(2)?)?,
                        starts_at: row.value(3)?,
                        ends_at: row.value(4)?,
                        comment: row.value(5)?,
                        created_by: row.value(6)?,
                        created_at: row.value(7)?,
                    })
                })
                .collect()
        })
    }
}
