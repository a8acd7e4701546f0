//! Workers: every worker that registered, its capacity, state and last heartbeat, and
//! drain requests that API nodes leave for the scheduler.

use crate::audit::{AuditEntry, write_audit};
use crate::error::StoreError;
use crate::records::WorkerRecord;
use crate::sqlite::Store;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
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
    /// Records a registration: inserts the worker or replaces what is known of it
    /// (a pending drain request survives a reconnect).
    pub async fn upsert_worker(&self, worker: &WorkerRecord) -> Result<(), StoreError> {
        let labels = serde_json::to_string(&worker.labels).map_err(|e| StoreError::Corrupt {
            what: "worker labels",
            message: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO workers (id, name, group_name, labels, slots, cpu_millis, memory_bytes, gpus, \
             disk_bytes, version, state, running, registered_at, last_heartbeat_at, drain_requested) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, group_name = excluded.group_name, \
             labels = excluded.labels, slots = excluded.slots, cpu_millis = excluded.cpu_millis, \
             memory_bytes = excluded.memory_bytes, gpus = excluded.gpus, disk_bytes = excluded.disk_bytes, \
             version = excluded.version, state = excluded.state, running = excluded.running, \
             registered_at = excluded.registered_at, last_heartbeat_at = excluded.last_heartbeat_at",
        )
        .bind(&worker.id)
        .bind(&worker.name)
        .bind(&worker.group)
        .bind(labels)
        .bind(worker.slots)
        .bind(worker.cpu_millis)
        .bind(to_i64(worker.memory_bytes))
        .bind(worker.gpus)
        .bind(to_i64(worker.disk_bytes))
        .bind(&worker.version)
        .bind(&worker.state)
        .bind(worker.running)
        .bind(worker.registered_at)
        .bind(worker.last_heartbeat_at)
        .bind(worker.drain_requested)
        .execute(&self.pool)
        .await?;
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
        let mut tx = self.write_tx().await?;
        for chunk in workers.chunks(LIVENESS_PER_STATEMENT) {
            let mut update: QueryBuilder<Sqlite> = QueryBuilder::new(
                "UPDATE workers SET state = v.column2, running = v.column3, last_heartbeat_at = v.column4 FROM (",
            );
            update.push_values(chunk, |mut row, worker| {
                row.push_bind(worker.id.clone())
                    .push_bind(worker.state.clone())
                    .push_bind(worker.running)
                    .push_bind(worker.last_heartbeat_at);
            });
            update.push(") AS v WHERE workers.id = v.column1");
            update.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every known worker, by name then id.
    pub async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        let sql = format!("SELECT {WORKER_COLUMNS} FROM workers ORDER BY name, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(worker_from_row).collect()
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
        sqlx::query(
            "UPDATE workers SET drain_requested = 1 WHERE (name = ? OR id = ?) AND state <> 'lost'",
        )
        .bind(name_or_id)
        .bind(name_or_id)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "SELECT {WORKER_COLUMNS} FROM workers WHERE (name = ? OR id = ?) AND state <> 'lost' ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name_or_id)
            .bind(name_or_id)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound {
                kind: "worker",
                id: name_or_id.to_owned(),
            });
        }
        let workers: Vec<WorkerRecord> =
            rows.iter().map(worker_from_row).collect::<Result<_, _>>()?;
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
        let rows = sqlx::query(
            "SELECT id FROM workers WHERE drain_requested = 1 AND state NOT IN ('draining', 'drained', 'lost')",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| row.try_get(0).map_err(StoreError::from))
            .collect()
    }
}

fn worker_from_row(row: &SqliteRow) -> Result<WorkerRecord, StoreError> {
    let labels: String = row.try_get(3)?;
    let labels: BTreeMap<String, String> =
        serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt {
            what: "workers.labels",
            message: e.to_string(),
        })?;
    Ok(WorkerRecord {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        group: row.try_get(2)?,
        labels,
        slots: row.try_get(4)?,
        cpu_millis: row.try_get(5)?,
        memory_bytes: u64::try_from(row.try_get::<i64, _>(6)?).unwrap_or(0),
        gpus: row.try_get(7)?,
        disk_bytes: u64::try_from(row.try_get::<i64, _>(8)?).unwrap_or(0),
        version: row.try_get(9)?,
        state: row.try_get(10)?,
        running: row.try_get(11)?,
        registered_at: row.try_get(12)?,
        last_heartbeat_at: row.try_get(13)?,
        drain_requested: row.try_get(14)?,
    })
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
