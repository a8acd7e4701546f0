//! `GET /cluster`: the scheduler lease and each node's state, address and age.

use crate::harness::{ADMIN_SECRET, TestApi, at, raw_problem};
use orrery_client::types::{ClusterNode, NodeState};
use orrery_core::clock::SystemClock;
use orrery_store::NodeRecord;
use std::sync::Arc;
use std::time::Duration;

/// Long enough to outlast any test.
const LONG: Duration = Duration::from_secs(600);

fn node(name: &str, holder: &str, roles: &str) -> NodeRecord {
    NodeRecord {
        name: name.to_owned(),
        holder: holder.to_owned(),
        api_address: Some(format!("{name}.internal:7070")),
        grpc_address: roles
            .contains("scheduler")
            .then(|| format!("{name}.internal:7071")),
        roles: roles.to_owned(),
        version: "0.1.0".to_owned(),
        started_at: at(0),
        // The store stamps its own clock here.
        last_seen_at: at(0),
    }
}

fn named<'a>(nodes: &'a [ClusterNode], name: &str) -> &'a ClusterNode {
    nodes
        .iter()
        .find(|node| node.name == name)
        .unwrap_or_else(|| panic!("no node {name} in {nodes:?}"))
}

#[tokio::test]
async fn the_lease_holder_is_the_leader_and_the_other_node_stands_by() {
    let api = TestApi::start().await;
    api.store
        .report_node(&node("alpha", "alpha-1", "api,scheduler,worker"))
        .await
        .expect("report alpha");
    api.store
        .report_node(&node("beta", "beta-1", "api,scheduler"))
        .await
        .expect("report beta");
    // A holder that is gone held the lease first, so the current one is epoch 2.
    api.store
        .claim_lease("scheduler", "old-1", Duration::ZERO)
        .await
        .expect("claim for the old holder");
    let claimed = api
        .store
        .claim_lease("scheduler", "beta-1", LONG)
        .await
        .expect("claim for beta");
    assert_eq!(claimed.epoch, 2);

    let status = api.admin.cluster_status().await.expect("cluster status");
    let lease = status.lease.expect("a lease");
    assert_eq!((lease.holder.as_str(), lease.epoch), ("beta-1", 2));
    assert_eq!(
        (lease.expires_at, lease.renewed_at),
        (claimed.expires_at, claimed.renewed_at)
    );
    assert!(lease.db_now < lease.expires_at, "{lease:?}");

    let names: Vec<&str> = status.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let alpha = named(&status.nodes, "alpha");
    let beta = named(&status.nodes, "beta");
    assert_eq!(
        (alpha.state, beta.state),
        (NodeState::Standby, NodeState::Leader)
    );
    assert_eq!(alpha.roles, ["api", "scheduler", "worker"]);
    assert_eq!(beta.holder, "beta-1");
    assert_eq!(beta.api_address.as_deref(), Some("beta.internal:7070"));
    assert_eq!(beta.grpc_address.as_deref(), Some("beta.internal:7071"));
    for node in &status.nodes {
        // Reported just now by the database's clock, which also judged them.
        assert!(node.last_seen_at <= lease.db_now, "{node:?}");
        assert!((0.0..10.0).contains(&node.seconds_since_seen), "{node:?}");
        assert_eq!(node.started_at, at(0));
    }

    // The wire shape: states as lowercase words, roles as a list.
    let raw: serde_json::Value = api
        .request(reqwest::Method::GET, "/api/v1/cluster", ADMIN_SECRET)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(raw["lease"]["epoch"], 2);
    assert_eq!(raw["nodes"][0]["state"], "standby");
    assert_eq!(raw["nodes"][1]["state"], "leader");
    assert_eq!(
        raw["nodes"][1]["roles"],
        serde_json::json!(["api", "scheduler"])
    );
}

#[tokio::test]
async fn without_a_lease_it_is_null_and_no_node_leads() {
    // No lease means no database clock to judge by, so the API's clock does; the
    // system clock is the one SQLite stamps reports with.
    let api = TestApi::start_with_clock(Arc::new(SystemClock)).await;
    api.store
        .report_node(&node("alpha", "alpha-1", "api,scheduler"))
        .await
        .expect("report alpha");
    api.store
        .report_node(&node("beta", "beta-1", "api"))
        .await
        .expect("report beta");

    let status = api.admin.cluster_status().await.expect("cluster status");
    assert_eq!(status.lease, None);
    let states: Vec<(&str, NodeState)> = status
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.state))
        .collect();
    assert_eq!(
        states,
        [("alpha", NodeState::Standby), ("beta", NodeState::Standby)]
    );
    assert_eq!(named(&status.nodes, "beta").grpc_address, None);

    let raw: serde_json::Value = api
        .request(reqwest::Method::GET, "/api/v1/cluster", ADMIN_SECRET)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(raw["lease"].is_null(), "{raw}");
}

#[tokio::test]
async fn an_expired_lease_is_shown_but_makes_no_leader() {
    let api = TestApi::start().await;
    api.store
        .report_node(&node("alpha", "alpha-1", "api,scheduler"))
        .await
        .expect("report alpha");
    api.store
        .claim_lease("scheduler", "alpha-1", Duration::ZERO)
        .await
        .expect("claim an expired lease");

    let status = api.admin.cluster_status().await.expect("cluster status");
    let lease = status.lease.expect("the lease row stays");
    assert_eq!((lease.holder.as_str(), lease.epoch), ("alpha-1", 1));
    assert_eq!(status.nodes[0].state, NodeState::Standby);
}

#[tokio::test]
async fn api_tokens_may_read_it_and_worker_tokens_are_refused() {
    let api = TestApi::start().await;
    let api_token = api
        .admin
        .create_token("ci", "api")
        .await
        .expect("create an api token");
    let status = api
        .client(&api_token.secret)
        .cluster_status()
        .await
        .expect("an api token reads the cluster");
    assert!(status.nodes.is_empty() && status.lease.is_none());

    let worker_token = api
        .admin
        .create_token("worker-1", "worker")
        .await
        .expect("create a worker token");
    let response = api
        .request(
            reqwest::Method::GET,
            "/api/v1/cluster",
            &worker_token.secret,
        )
        .send()
        .await
        .expect("send");
    let (status, content_type, p) = raw_problem(response).await;
    assert_eq!(
        (status, content_type.as_str(), p.code.as_str()),
        (403, "application/problem+json", "forbidden")
    );

    let response = api
        .http
        .get(format!("{}/api/v1/cluster", api.base))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 401);
}
