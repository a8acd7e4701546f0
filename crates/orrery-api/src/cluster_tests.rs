//! Tests of how a node's state follows from the lease, its last report and the time.

use super::*;

/// A fixed instant plus `millis`.
fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_800_000_000_000 + millis).expect("a valid timestamp")
}

fn node(holder: &str, last_seen_at: DateTime<Utc>) -> NodeRecord {
    NodeRecord {
        name: format!("node-{holder}"),
        holder: holder.to_owned(),
        api_address: None,
        grpc_address: None,
        roles: "api,scheduler".to_owned(),
        version: "0.1.0".to_owned(),
        started_at: at(0),
        last_seen_at,
    }
}

fn lease(holder: &str, expires_at: DateTime<Utc>) -> Lease {
    Lease {
        name: SCHEDULER_LEASE.to_owned(),
        holder: holder.to_owned(),
        epoch: 3,
        expires_at,
        renewed_at: at(0),
        db_now: at(0),
    }
}

/// The state of a node of `holder` last seen at `last_seen_ms`, read at `now_ms`.
#[track_caller]
fn check(holder: &str, last_seen_ms: i64, lease: Option<&Lease>, now_ms: i64, expected: NodeState) {
    let actual = node_state(&node(holder, at(last_seen_ms)), lease, at(now_ms));
    assert_eq!(
        actual, expected,
        "holder {holder}, last seen {last_seen_ms} ms, now {now_ms} ms, lease {lease:?}"
    );
}

#[test]
fn the_holder_of_an_unexpired_lease_leads_and_the_others_stand_by() {
    let held = lease("a", at(2_000));
    check("a", 0, Some(&held), 1_000, NodeState::Leader);
    check("b", 0, Some(&held), 1_000, NodeState::Standby);
}

#[test]
fn an_expired_lease_makes_no_leader() {
    let held = lease("a", at(2_000));
    // Expiry is exclusive: at `expires_at` a standby may already take the lease.
    check("a", 1_500, Some(&held), 2_000, NodeState::Standby);
    check("a", 1_500, Some(&held), 2_001, NodeState::Standby);
    check("a", 1_500, None, 2_001, NodeState::Standby);
}

#[test]
fn a_node_silent_for_more_than_ten_seconds_is_gone_unless_it_holds_the_lease() {
    check("b", 0, None, 10_000, NodeState::Standby);
    check("b", 0, None, 10_001, NodeState::Gone);
    let held = lease("a", at(20_000));
    check("b", 0, Some(&held), 10_001, NodeState::Gone);
    // The lease is the truth about leadership, even when the node's reports lag.
    check("a", 0, Some(&held), 10_001, NodeState::Leader);
}

#[test]
fn a_report_after_the_reading_clock_is_not_gone() {
    // The fallback clock (no lease) may be behind the database's.
    check("b", 5_000, None, 0, NodeState::Standby);
}
