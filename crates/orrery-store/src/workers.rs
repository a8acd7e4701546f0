//! Workers: every worker that registered, its capacity, state and last heartbeat, and
//! drain requests that API nodes leave for the scheduler.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::leader::LeaderStore;
use crate::records::WorkerRecord;
use crate::row::{StoreRow, to_i64, to_u32, to_u64};
use crate::store::Store;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use std::collections::BTreeMap;

const WORKER_COLUMNS: &str = "id, name, group_name, labels, slots, cpu_millis, memory_bytes, gpus, \
     disk_bytes, version, state, running, registered_at, last_heartbeat_at, drain_requested";

/// Rows per bulk liveness update: 4 bound values each.
const LIVENESS_PER_STATEMENT: usize = 4000;

/// A worker's state and load as the scheduler last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerLiveness {
    pub id: String,
    pub state: String,
    pub running: u32,
    pub last_heartbeat_at: DateTime<Utc>,
}

impl Store {
    /// Every known worker, by name then id.
    pub async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        let sql = format!("SELECT {WORKER_COLUMNS} FROM workers ORDER BY name, id");
        on_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?
                .iter()
                .map(worker_from_row)
                .collect()
        })
    }

    /// Asks the scheduler to drain the workers with this name or id; returns them.
    /// Workers already lost cannot be drained. Audited as `worker.drain` by `actor`.
    pub async fn request_drain(
        &self,
        name_or_id: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkerRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "UPDATE workers SET drain_requested = TRUE WHERE (name = $1 OR id = $1) AND state <> 'lost' \
             RETURNING {WORKER_COLUMNS}"
        );
        let mut workers: Vec<WorkerRecord> = on_tx!(&mut tx, |conn| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(name_or_id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(worker_from_row)
                .collect::<Result<_, _>>()?
        });
        if workers.is_empty() {
            return Err(StoreError::NotFound {
                kind: "worker",
                id: name_or_id.to_owned(),
            });
        }
        workers.sort_by(|a, b| a.id.cmp(&b.id));
        for worker in &workers {
            let resource = format!("worker/{}", worker.id);
            write_audit(
                &mut tx,
                &AuditEntry::new(actor, "worker.drain", &resource, None, None),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(workers)
    }

    /// Ids of workers with a drain requested that are not draining yet.
    pub async fn pending_drains(&self) -> Result<Vec<String>, StoreError> {
        on_pool!(self, |pool| {
            Ok(sqlx::query_scalar(
                "SELECT id FROM workers WHERE drain_requested = TRUE \
                 AND state NOT IN ('draining', 'drained', 'lost') ORDER BY id",
            )
            .fetch_all(pool)
            .await?)
        })
    }
}

impl LeaderStore {
    /// Records a registration: inserts the worker or replaces what is known of it
    /// (a pending drain request survives a reconnect).
    pub async fn upsert_worker(&self, worker: &WorkerRecord) -> Result<(), StoreError> {
        let labels = serde_json::to_string(&worker.labels).map_err(|e| StoreError::Corrupt {
            what: "worker labels",
            message: e.to_string(),
        })?;
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO workers (id, name, group_name, labels, slots, cpu_millis, memory_bytes, gpus, \
                 disk_bytes, version, state, running, registered_at, last_heartbeat_at, drain_requested) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, group_name = excluded.group_name, \
                 labels = excluded.labels, slots = excluded.slots, cpu_millis = excluded.cpu_millis, \
                 memory_bytes = excluded.memory_bytes, gpus = excluded.gpus, disk_bytes = excluded.disk_bytes, \
                 version = excluded.version, state = excluded.state, running = excluded.running, \
                 registered_at = excluded.registered_at, last_heartbeat_at = excluded.last_heartbeat_at",
            )
            .bind(&worker.id)
            .bind(&worker.name)
            .bind(&worker.group)
            .bind(&labels)
            .bind(i64::from(worker.slots))
            .bind(i64::from(worker.cpu_millis))
            .bind(to_i64(worker.memory_bytes))
            .bind(i64::from(worker.gpus))
            .bind(to_i64(worker.disk_bytes))
            .bind(&worker.version)
            .bind(&worker.state)
            .bind(i64::from(worker.running))
            .bind(worker.registered_at)
            .bind(worker.last_heartbeat_at)
            .bind(worker.drain_requested)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Writes the state, load and last heartbeat of many workers at once.
    pub async fn update_worker_liveness(
        &self,
        workers: &[WorkerLiveness],
    ) -> Result<(), StoreError> {
        if workers.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.write_tx().await?;
        on_tx!(&mut tx, |conn| {
            for chunk in workers.chunks(LIVENESS_PER_STATEMENT) {
                // Rows as a named common table expression, which both backends accept
                // (see `tasks::UPDATE_TASKS_HEAD`).
                let mut update =
                    QueryBuilder::new("WITH v (id, state, running, last_heartbeat_at) AS (");
                update.push_values(chunk, |mut row, worker| {
                    row.push_bind(worker.id.as_str())
                        .push_bind(worker.state.as_str())
                        .push_bind(i64::from(worker.running))
                        .push_bind(worker.last_heartbeat_at);
                });
                update.push(
                    ") UPDATE workers SET state = v.state, running = v.running, \
                     last_heartbeat_at = v.last_heartbeat_at FROM v WHERE workers.id = v.id",
                );
                update.build().execute(&mut *conn).await?;
            }
        });
        tx.commit().await?;
        Ok(())
    }
}

fn worker_from_row(row: &impl StoreRow) -> Result<WorkerRecord, StoreError> {
    let labels: String = row.value(3)?;
    let labels: BTreeMap<String, String> =
        serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt {
            what: "workers.labels",
            message: e.to_string(),
        })?;
    Ok(WorkerRecord {
        id: row.value(0)?,
        name: row.value(1)?,
        group: row.value(2)?,
        labels,
        slots: to_u32(row.value(4)?, "workers.slots")?,
        cpu_millis: to_u32(row.value(5)?, "workers.cpu_millis")?,
        memory_bytes: to_u64(row.value(6)?),
        gpus: to_u32(row.value(7)?, "workers.gpus")?,
        disk_bytes: to_u64(row.value(8)?),
        version: row.value(9)?,
        state: row.value(10)?,
        running: to_u32(row.value(11)?, "workers.running")?,
        registered_at: row.value(12)?,
        last_heartbeat_at: row.value(13)?,
        drain_requested: row.value(14)?,
    })
}
