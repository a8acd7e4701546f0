//! The store's contract for leadership on both backends: claiming, renewing and
//! taking over the lease, and fenced writes of a deposed leader.

mod common;

use common::{at, job};
use orrery_store::test_support::TestStore;
use orrery_store::{Fence, StoreError, backend_tests};
use std::time::Duration;

backend_tests!(
    the_first_claim_wins_and_others_see_the_holder,
    an_expired_lease_changes_hands_with_a_new_epoch,
    a_deposed_leader_cannot_write,
    a_released_lease_is_taken_at_once,
);

const LONG: Duration = Duration::from_secs(60);

async fn the_first_claim_wins_and_others_see_the_holder(test: TestStore) {
    let store = &test.store;
    let a = store
        .claim_lease("scheduler", "a", LONG)
        .await
        .expect("claim");
    assert!(a.held_by("a"));
    assert_eq!(a.epoch, 1);
    assert!(a.expires_at > a.db_now);
    let b = store
        .claim_lease("scheduler", "b", LONG)
        .await
        .expect("claim");
    assert!(!b.held_by("b"), "a holds it: {b:?}");
    assert_eq!((b.holder.as_str(), b.epoch), ("a", 1));
    let renewed = store
        .claim_lease("scheduler", "a", LONG)
        .await
        .expect("renew");
    assert_eq!((renewed.holder.as_str(), renewed.epoch), ("a", 1));
    assert!(renewed.expires_at >= a.expires_at);
    let read = store
        .lease("scheduler")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.holder, "a");
}

async fn an_expired_lease_changes_hands_with_a_new_epoch(test: TestStore) {
    let store = &test.store;
    // A zero TTL expires at once, by the database's clock.
    let a = store
        .claim_lease("scheduler", "a", Duration::ZERO)
        .await
        .expect("claim");
    assert!(a.held_by("a"));
    let b = store
        .claim_lease("scheduler", "b", LONG)
        .await
        .expect("take");
    assert!(b.held_by("b"));
    assert_eq!(b.epoch, 2);
    let a_again = store
        .claim_lease("scheduler", "a", LONG)
        .await
        .expect("claim");
    assert!(!a_again.held_by("a"), "b's lease has not expired");
}

async fn a_deposed_leader_cannot_write(test: TestStore) {
    let store = &test.store;
    let tick = job(store, "tick", "{}").await;
    let a = store
        .claim_lease("scheduler", "a", Duration::ZERO)
        .await
        .expect("claim");
    let leader = store.fenced(Fence {
        lease: "scheduler".to_owned(),
        holder: "a".to_owned(),
        epoch: a.epoch,
    });
    leader
        .set_trigger(tick.id, 1, Some(at(60)), at(0))
        .await
        .expect("the leader writes while it holds the lease");
    store
        .claim_lease("scheduler", "b", LONG)
        .await
        .expect("take");
    match leader.set_trigger(tick.id, 1, Some(at(120)), at(1)).await {
        Err(StoreError::Fenced { epoch, .. }) => assert_eq!(epoch, 1),
        other => panic!("a deposed leader's write must be refused, got {other:?}"),
    }
    let trigger = store.trigger(tick.id).await.expect("read").expect("timer");
    assert_eq!(trigger.next_fire_at, Some(at(60)), "nothing was applied");
}

async fn a_released_lease_is_taken_at_once(test: TestStore) {
    let store = &test.store;
    store
        .claim_lease("scheduler", "a", LONG)
        .await
        .expect("claim");
    store
        .release_lease("scheduler", "a")
        .await
        .expect("release");
    let b = store
        .claim_lease("scheduler", "b", LONG)
        .await
        .expect("take");
    assert!(b.held_by("b"));
    assert_eq!(b.epoch, 2);
}
