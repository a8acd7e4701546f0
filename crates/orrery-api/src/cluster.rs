//! The cluster view: the scheduler lease and every server node, each judged leader,
//! standby or gone by the database's clock.

use crate::convert::{cluster_node, lease_info};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use orrery_client::types::{ClusterStatus, NodeState};
use orrery_store::{Lease, NodeRecord, SCHEDULER_LEASE};

/// A node silent for longer than this is gone. Nodes report at every lease renewal
/// (about twice a second), so this is many missed reports, not one slow one.
const GONE_AFTER: chrono::Duration = chrono::Duration::seconds(10);

/// The scheduler lease and every node that reported itself, with its state.
#[utoipa::path(get, path = "/api/v1/cluster",
    responses((status = 200, body = ClusterStatus)))]
pub(crate) async fn cluster_status(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<orrery_access::Principal>,
) -> Result<Json<ClusterStatus>, ApiError> {
    crate::access::authorize_cluster(&principal, orrery_access::Action::ClusterRead)?;
    // Nodes first, then the lease: the lease's `db_now` is then no earlier than any
    // `last_seen_at` just read, so ages come out as they are, not negative.
    let nodes = state.reads.cluster_nodes().await?;
    let lease = state.reads.lease(SCHEDULER_LEASE).await?;
    // The store reads the database's clock only along with a lease. Before any
    // scheduler has claimed one, this node's clock stands in for it (on SQLite it is
    // the same host's clock anyway).
    let now = lease
        .as_ref()
        .map_or_else(|| state.clock.now(), |lease| lease.db_now);
    let nodes = nodes
        .iter()
        .map(|node| cluster_node(node, node_state(node, lease.as_ref(), now), now))
        .collect();
    Ok(Json(ClusterStatus {
        lease: lease.as_ref().map(lease_info),
        nodes,
    }))
}

/// Leader when the node's process holds the lease and the lease has not expired at
/// `now` (the lease decides, however late the node's own last report); else gone
/// when it has been silent for more than [`GONE_AFTER`]; else standby.
pub(crate) fn node_state(
    node: &NodeRecord,
    lease: Option<&Lease>,
    now: DateTime<Utc>,
) -> NodeState {
    let leads = lease.is_some_and(|lease| lease.held_by(&node.holder) && lease.expires_at > now);
    if leads {
        NodeState::Leader
    } else if now - node.last_seen_at > GONE_AFTER {
        NodeState::Gone
    } else {
        NodeState::Standby
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
