//! The store's contract for leadership on both backends: claiming, renewing and
//! taking over the lease, and fenced writes of a deposed leader.

mod common;

use common::{at, job, names, run_of};
use orrery_core::ids::TaskInstanceId;
use orrery_core::state::FireFate;
use orrery_store::records::{NewLogLine, TaskRecord, WorkerRecord};
use orrery_store::test_support::TestStore;
use orrery_store::{
    JobFires, LogOwner, PlannedFire, RunUpdate, StoreError, WorkerLiveness, backend_tests,
};
use std::time::Duration;

backend_tests!(
    the_first_claim_wins_and_others_see_the_holder,
    an_expired_lease_changes_hands_with_a_new_epoch,
    a_deposed_leader_cannot_write,
    a_released_lease_is_taken_at_once,
    a_claim_that_loses_gets_no_leader_store,
    every_leader_write_of_a_deposed_leader_is_refused,
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
    let leader = a.into_leader().expect("the winner gets the leader's store");
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

async fn a_claim_that_loses_gets_no_leader_store(test: TestStore) {
    let store = &test.store;
    let a = store
        .claim_lease("scheduler", "a", LONG)
        .await
        .expect("claim");
    assert_eq!(a.into_leader().map(|l| l.epoch()), Some(1));
    let b = store
        .claim_lease("scheduler", "b", LONG)
        .await
        .expect("claim");
    assert!(
        b.into_leader().is_none(),
        "only the holder writes as the leader"
    );
}

/// Every write only a leader makes, through a leader deposed by a newer claim: each is
/// refused with `Fenced`, and none of them is applied.
async fn every_leader_write_of_a_deposed_leader_is_refused(test: TestStore) {
    let store = &test.store;
    let tick = job(store, "tick", "{}").await;
    let task_names = names(1);
    let params = serde_json::Map::new();
    let run = store
        .create_run(&run_of(&tick, &task_names, &params, None))
        .await
        .expect("run");
    let attempt = store
        .run_tasks(run)
        .await
        .expect("tasks")
        .first()
        .and_then(|t| t.id)
        .unwrap_or(TaskInstanceId(0));
    let deposed = store
        .claim_lease("scheduler", "a", Duration::ZERO)
        .await
        .expect("claim")
        .into_leader()
        .expect("a won");
    store
        .claim_lease("scheduler", "b", LONG)
        .await
        .expect("b takes over");

    let fenced = |what: &str, result: Result<(), StoreError>| match result {
        Err(StoreError::Fenced { epoch, .. }) => assert_eq!(epoch, 1, "{what}"),
        other => panic!("{what}: a deposed leader's write must be refused, got {other:?}"),
    };
    let mut new_attempt = [TaskRecord::pending(run, "a", 0)];
    let ended = RunUpdate {
        id: run,
        state: orrery_core::state::RunState::Failed,
        started_at: Some(at(1)),
        finished_at: Some(at(2)),
    };
    fenced(
        "commit_changes",
        deposed
            .commit_changes(&mut new_attempt, &[ended], &[])
            .await,
    );
    let fires = [JobFires {
        job_id: tick.id,
        version: 1,
        fires: vec![PlannedFire {
            nominal_at: at(60),
            outcome: FireFate::Missed,
            reason: None,
            run: None,
        }],
        next_fire_at: Some(at(120)),
    }];
    fenced(
        "record_fires",
        deposed.record_fires(&fires, &[], at(61)).await.map(|_| ()),
    );
    fenced(
        "reclassify_fire",
        deposed
            .reclassify_fire(tick.id, at(60), FireFate::Paused, "paused")
            .await
            .map(|_| ()),
    );
    fenced(
        "set_trigger",
        deposed.set_trigger(tick.id, 1, Some(at(60)), at(0)).await,
    );
    fenced("delete_trigger", deposed.delete_trigger(tick.id).await);
    let owner = LogOwner {
        run_id: run,
        task_instance_id: attempt,
        task_name: "a",
        attempt: 1,
    };
    let line = NewLogLine {
        at: at(1),
        stream: "stdout",
        text: "late".to_owned(),
    };
    fenced(
        "append_logs",
        deposed
            .append_logs(owner, std::slice::from_ref(&line))
            .await,
    );
    fenced(
        "append_log_batches",
        deposed
            .append_log_batches(&[(owner, std::slice::from_ref(&line))])
            .await,
    );
    let worker = WorkerRecord {
        id: "w1".to_owned(),
        name: "w1".to_owned(),
        group: "default".to_owned(),
        labels: Default::default(),
        slots: 1,
        cpu_millis: 0,
        memory_bytes: 0,
        gpus: 0,
        disk_bytes: 0,
        version: "test".to_owned(),
        state: "connected".to_owned(),
        running: 0,
        registered_at: at(0),
        last_heartbeat_at: at(0),
        drain_requested: false,
    };
    fenced("upsert_worker", deposed.upsert_worker(&worker).await);
    let liveness = [WorkerLiveness {
        id: "w1".to_owned(),
        state: "lost".to_owned(),
        running: 0,
        last_heartbeat_at: at(5),
    }];
    fenced(
        "update_worker_liveness",
        deposed.update_worker_liveness(&liveness).await,
    );

    // Nothing of it was applied.
    let record = store.get_run(run).await.expect("read").expect("run");
    assert_eq!(record.state, orrery_core::state::RunState::Queued);
    assert_eq!(store.run_tasks(run).await.expect("tasks").len(), 1);
    assert!(store.trigger(tick.id).await.expect("read").is_none());
    assert!(store.workers().await.expect("workers").is_empty());
    assert!(
        store
            .read_logs(run, None, 0, 10)
            .await
            .expect("logs")
            .is_empty()
    );
    let occurrences = store
        .list_occurrences(tick.id, 10)
        .await
        .expect("occurrences");
    assert!(occurrences.is_empty(), "{occurrences:?}");
}
