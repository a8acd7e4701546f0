//! The leader's side of alerting: alert events stored with the changes that raised
//! them, the router's saved state and cursor, the alerts table, and the notification
//! outbox the delivery loop drains.

use crate::alert_records::{
    AlertChange, AlertConfigRecord, AlertEventRecord, AlertRecord, DeliveryResult, NewAlertEvent,
    NewNotification, NotificationRecord, NotificationState, SilenceRecord, labels_from_json,
    labels_to_json, parse_status,
};
use crate::error::StoreError;
use crate::exec::{WriteTx, on_pool, on_tx};
use crate::leader::LeaderStore;
use crate::row::{StoreRow, to_u32};
use chrono::{DateTime, Utc};

/// What one pass of the alert loop decided, written in one transaction.
#[derive(Clone, Debug)]
pub struct AlertPass<'a> {
    /// The last alert event the pass took in.
    pub cursor: i64,
    /// The router's state after the pass (opaque to the store).
    pub router_state: &'a str,
    pub alerts: &'a [AlertChange],
    pub notifications: &'a [NewNotification],
    pub now: DateTime<Utc>,
}

pub(crate) const NOTIFICATION_COLUMNS: &str = "id, project, receiver, dedup_key, payload, state, attempts, \
     next_attempt_at, last_error, response, created_at, finished_at";

/// The annotation that makes an alert event once-only: an event carrying a key
/// already raised is dropped (an SLA deadline alerts once, whoever evaluates it).
pub const ONCE_KEY: &str = "sla_key";

/// Stores alert events inside a write transaction (the one of the change that raised
/// them).
pub(crate) async fn insert_alert_events(
    tx: &mut WriteTx,
    events: &[NewAlertEvent],
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        for event in events {
            if let Some(key) = event.annotations.get(ONCE_KEY) {
                let fresh = sqlx::query(
                    "INSERT INTO sla_misses (key, raised_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(event.at)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if fresh == 0 {
                    continue;
                }
            }
            sqlx::query(
                "INSERT INTO alert_events (project, status, labels, annotations, at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&event.project)
            .bind(event.status.as_str())
            .bind(labels_to_json(&event.labels))
            .bind(labels_to_json(&event.annotations))
            .bind(event.at)
            .execute(&mut *conn)
            .await?;
        }
    });
    Ok(())
}

impl LeaderStore {
    /// Stores alert events that no other change carries (a new leader, a lost worker).
    pub async fn raise_alert_events(&self, events: &[NewAlertEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.write_tx().await?;
        insert_alert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The router's saved cursor and state, if a pass ever ran.
    pub async fn alert_router_state(&self) -> Result<Option<(i64, String)>, StoreError> {
        on_pool!(self.store, |pool| {
            sqlx::query("SELECT cursor, state FROM alert_router WHERE id = 1")
                .fetch_optional(pool)
                .await?
                .map(|row| Ok::<_, StoreError>((row.value(0)?, row.value(1)?)))
                .transpose()
        })
    }

    /// Up to `limit` alert events after `cursor`, oldest first.
    pub async fn alert_events_after(
        &self,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<AlertEventRecord>, StoreError> {
        on_pool!(self.store, |pool| {
            sqlx::query(
                "SELECT seq, project, status, labels, annotations, at FROM alert_events \
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(cursor)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok(AlertEventRecord {
                    seq: row.value(0)?,
                    event: NewAlertEvent {
                        project: row.value(1)?,
                        status: parse_status(&row.value::<String>(2)?)?,
                        labels: labels_from_json(&row.value::<String>(3)?)?,
                        annotations: labels_from_json(&row.value::<String>(4)?)?,
                        at: row.value(5)?,
                    },
                })
            })
            .collect()
        })
    }

    /// Every alert still firing, in every project.
    pub async fn firing_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
        self.store
            .alerts_where("resolved_at IS NULL", None, 100_000)
            .await
    }

    /// Every applied receiver and route, in every project.
    pub async fn alert_configs(&self) -> Result<Vec<AlertConfigRecord>, StoreError> {
        self.store.alert_configs_of(None).await
    }

    /// Silences in force at `now` or later, in every project.
    pub async fn live_silences(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<SilenceRecord>, StoreError> {
        self.store.silences_of(None, Some(now)).await
    }

    /// Writes what an alert pass decided: alert rows, queued notifications (a dedup
    /// key already queued is skipped) and the router's state with its cursor.
    pub async fn commit_alert_pass(&self, pass: &AlertPass<'_>) -> Result<(), StoreError> {
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            for alert in pass.alerts {
                let alertname = alert.labels.get("alertname").cloned().unwrap_or_default();
                let updated = sqlx::query(
                    "UPDATE alerts SET labels = $3, annotations = $4, updated_at = $5, resolved_at = $6 \
                     WHERE project = $1 AND fingerprint = $2 AND resolved_at IS NULL",
                )
                .bind(&alert.project)
                .bind(&alert.fingerprint)
                .bind(labels_to_json(&alert.labels))
                .bind(labels_to_json(&alert.annotations))
                .bind(pass.now)
                .bind(alert.resolved_at)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if updated == 0 {
                    sqlx::query(
                        "INSERT INTO alerts (project, fingerprint, alertname, labels, annotations, \
                         starts_at, updated_at, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&alert.project)
                    .bind(&alert.fingerprint)
                    .bind(&alertname)
                    .bind(labels_to_json(&alert.labels))
                    .bind(labels_to_json(&alert.annotations))
                    .bind(alert.starts_at)
                    .bind(pass.now)
                    .bind(alert.resolved_at)
                    .execute(&mut *conn)
                    .await?;
                }
            }
            for notification in pass.notifications {
                sqlx::query(
                    "INSERT INTO notifications (project, receiver, dedup_key, payload, state, attempts, \
                     next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) \
                     ON CONFLICT (dedup_key) DO NOTHING",
                )
                .bind(&notification.project)
                .bind(&notification.receiver)
                .bind(&notification.dedup_key)
                .bind(&notification.payload)
                .bind(pass.now)
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query(
                "INSERT INTO alert_router (id, cursor, state, updated_at) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor, state = excluded.state, \
                 updated_at = excluded.updated_at",
            )
            .bind(pass.cursor)
            .bind(pass.router_state)
            .bind(pass.now)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` pending notifications due at `now`, oldest first.
    pub async fn due_notifications(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications \
             WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
        );
        on_pool!(self.store, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
                .iter()
                .map(notification_from_row)
                .collect()
        })
    }

    /// When the next pending notification is due, if any is pending.
    pub async fn next_notification_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_pool!(self.store, |pool| {
            Ok(sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM notifications WHERE state = 'pending'",
            )
            .fetch_one(pool)
            .await?)
        })
    }

    /// Records what became of delivery attempts, in one transaction.
    pub async fn record_deliveries(
        &self,
        results: &[(i64, DeliveryResult)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            for (id, result) in results {
                let (state, next_at, error, response, finished) = match result {
                    DeliveryResult::Sent { response } => (
                        NotificationState::Sent,
                        now,
                        None,
                        Some(response),
                        Some(now),
                    ),
                    DeliveryResult::Retry { error, at } => {
                        (NotificationState::Pending, *at, Some(error), None, None)
                    }
                    DeliveryResult::Failed { error } => {
                        (NotificationState::Failed, now, Some(error), None, Some(now))
                    }
                };
                sqlx::query(
                    "UPDATE notifications SET state = $2, attempts = attempts + 1, next_attempt_at = $3, \
                     last_error = COALESCE($4, last_error), response = COALESCE($5, response), finished_at = $6 \
                     WHERE id = $1 AND state = 'pending'",
                )
                .bind(*id)
                .bind(state.as_str())
                .bind(next_at)
                .bind(error)
                .bind(response)
                .bind(finished)
                .execute(&mut *conn)
                .await?;
            }
        });
        tx.commit().await?;
        Ok(())
    }

    /// How many notifications are pending and when the oldest was queued.
    pub async fn outbox_depth(&self) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        on_pool!(self.store, |pool| {
            let row = sqlx::query(
                "SELECT COUNT(*), MIN(created_at) FROM notifications WHERE state = 'pending'",
            )
            .fetch_one(pool)
            .await?;
            Ok((row.value(0)?, row.value(1)?))
        })
    }
}

pub(crate) fn notification_from_row(row: &impl StoreRow) -> Result<NotificationRecord, StoreError> {
    Ok(NotificationRecord {
        id: row.value(0)?,
        project: row.value(1)?,
        receiver: row.value(2)?,
        dedup_key: row.value(3)?,
        payload: row.value(4)?,
        state: NotificationState::parse(&row.value::<String>(5)?)?,
        attempts: to_u32(row.value(6)?, "notification attempts")?,
        next_attempt_at: row.value(7)?,
        last_error: row.value(8)?,
        response: row.value(9)?,
        created_at: row.value(10)?,
        finished_at: row.value(11)?,
    })
}
