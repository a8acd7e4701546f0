//! Cluster nodes: every server process records itself (roles, addresses, version) and
//! refreshes `last_seen_at` by the database's clock, for `orrery cluster status` and so
//! a standby can name the leader's address.

use crate::error::StoreError;
use crate::exec::{on_pool, on_tx};
use crate::lease::db_now;
use crate::row::StoreRow;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// One server process of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    /// Stable name of the node (`--node-name`, the host name by default).
    pub name: String,
    /// Unique per process start: who holds the lease when this node leads.
    pub holder: String,
    /// `host:port` of the HTTP API, when it serves one.
    pub api_address: Option<String>,
    /// `host:port` workers connect to, when it runs a scheduler.
    pub grpc_address: Option<String>,
    /// Comma-separated roles (`api,scheduler,worker`).
    pub roles: String,
    pub version: String,
    pub started_at: DateTime<Utc>,
    /// Set by the database's clock at each report.
    pub last_seen_at: DateTime<Utc>,
}

impl Store {
    /// Records (or refreshes) a node; `last_seen_at` is the database's clock.
    pub async fn report_node(&self, node: &NodeRecord) -> Result<(), StoreError> {
        let mut tx = self.unfenced().write_tx().await?;
        let now = db_now(&mut tx).await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query(
                "INSERT INTO cluster_nodes (name, holder, api_address, grpc_address, roles, version, \
                 started_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 api_address = excluded.api_address, grpc_address = excluded.grpc_address, \
                 roles = excluded.roles, version = excluded.version, \
                 started_at = excluded.started_at, last_seen_at = excluded.last_seen_at",
            )
            .bind(&node.name)
            .bind(&node.holder)
            .bind(&node.api_address)
            .bind(&node.grpc_address)
            .bind(&node.roles)
            .bind(&node.version)
            .bind(node.started_at)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a node that stops cleanly.
    pub async fn remove_node(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.unfenced().write_tx().await?;
        on_tx!(&mut tx, |conn| {
            sqlx::query("DELETE FROM cluster_nodes WHERE name = $1")
                .bind(name)
                .execute(&mut *conn)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// Every recorded node, by name.
    pub async fn cluster_nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "SELECT name, holder, api_address, grpc_address, roles, version, started_at, \
                 last_seen_at FROM cluster_nodes ORDER BY name",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| {
                Ok(NodeRecord {
                    name: row.value(0)?,
                    holder: row.value(1)?,
                    api_address: row.value(2)?,
                    grpc_address: row.value(3)?,
                    roles: row.value(4)?,
                    version: row.value(5)?,
                    started_at: row.value(6)?,
                    last_seen_at: row.value(7)?,
                })
            })
            .collect()
        })
    }
}
