//! Reporting this node in the store's node table at each election round.

use orrery_core::clock::Clock;
use orrery_store::{NodeRecord, Store};
use std::sync::Arc;

/// Who this node is, as other nodes and `orrery cluster status` see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Stable name (the host name by default).
    pub name: String,
    /// Unique per process start; holds the lease while this node leads.
    pub holder: String,
    pub api_address: Option<String>,
    pub grpc_address: Option<String>,
    /// Comma-separated roles.
    pub roles: String,
}

impl NodeIdentity {
    /// A single-node identity (tests, the all-in-one server without settings).
    pub fn local(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            holder: format!("{name}#{}", std::process::id()),
            api_address: None,
            grpc_address: None,
            roles: "api,scheduler,worker".to_owned(),
        }
    }
}

/// Writes this node's row; a failure is logged, never fatal.
pub(crate) struct NodeReporter {
    pub(crate) store: Store,
    pub(crate) node: NodeIdentity,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
}

impl NodeReporter {
    pub(crate) fn new(store: Store, node: NodeIdentity, clock: &Arc<dyn Clock>) -> Self {
        Self {
            store,
            node,
            started_at: clock.now(),
        }
    }

    pub(crate) async fn report(&self, _leading: bool) {
        let record = NodeRecord {
            name: self.node.name.clone(),
            holder: self.node.holder.clone(),
            api_address: self.node.api_address.clone(),
            grpc_address: self.node.grpc_address.clone(),
            roles: self.node.roles.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: self.started_at,
            last_seen_at: self.started_at,
        };
        if let Err(error) = self.store.report_node(&record).await {
            tracing::warn!(%error, "cannot report this node");
        }
    }

    pub(crate) async fn leave(&self) {
        if let Err(error) = self.store.remove_node(&self.node.name).await {
            tracing::warn!(%error, "cannot remove this node from the node table");
        }
    }
}
