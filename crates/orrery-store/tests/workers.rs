//! The store's contract for workers: registrations, liveness and drain requests, on
//! both backends.

use chrono::{DateTime, Utc};
use orrery_store::records::WorkerRecord;
use orrery_store::test_support::TestStore;
use orrery_store::{StoreError, WorkerLiveness, backend_tests};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

fn worker(id: &str, name: &str) -> WorkerRecord {
    WorkerRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        group: "gpu".to_owned(),
        labels: [("zone".to_owned(), "a".to_owned())].into(),
        slots: 4,
        cpu_millis: 8000,
        memory_bytes: 16 << 30,
        gpus: 2,
        disk_bytes: 0,
        version: "0.1.0".to_owned(),
        state: "connected".to_owned(),
        running: 0,
        registered_at: at(0),
        last_heartbeat_at: at(0),
        drain_requested: false,
    }
}

backend_tests!(
    registrations_liveness_and_drains_round_trip,
    a_drain_by_name_covers_every_live_worker_of_that_name,
    liveness_of_thousands_of_workers_is_written_in_one_call,
);

async fn registrations_liveness_and_drains_round_trip(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    leader
        .upsert_worker(&worker("w1", "alpha"))
        .await
        .expect("insert");
    leader
        .upsert_worker(&worker("w2", "beta"))
        .await
        .expect("insert");
    leader
        .update_worker_liveness(&[WorkerLiveness {
            id: "w1".to_owned(),
            state: "disconnected".to_owned(),
            running: 3,
            last_heartbeat_at: at(30),
        }])
        .await
        .expect("liveness");
    let workers = store.workers().await.expect("list");
    assert_eq!(workers.len(), 2);
    assert_eq!(workers[0].name, "alpha");
    assert_eq!(workers[0].state, "disconnected");
    assert_eq!(workers[0].running, 3);
    assert_eq!(workers[0].last_heartbeat_at, at(30));
    assert_eq!(workers[0].memory_bytes, 16 << 30);
    assert_eq!(workers[1], worker("w2", "beta"));

    let drained = store
        .request_drain("beta", "token:admin", at(40))
        .await
        .expect("drain by name");
    assert_eq!(drained.len(), 1);
    assert!(drained[0].drain_requested);
    assert_eq!(store.pending_drains().await.expect("pending"), ["w2"]);
    let audit = store.list_audit(10).await.expect("audit");
    assert!(
        audit.iter().any(|a| a.action == "worker.drain"
            && a.resource == "worker/w2"
            && a.actor == "token:admin"),
        "{audit:?}"
    );
    // A reconnect re-registers the worker; the drain request stays.
    leader
        .upsert_worker(&worker("w2", "beta"))
        .await
        .expect("re-register");
    assert_eq!(store.pending_drains().await.expect("pending"), ["w2"]);

    match store.request_drain("nobody", "token:admin", at(41)).await {
        Err(StoreError::NotFound { kind, id }) => {
            assert_eq!((kind, id.as_str()), ("worker", "nobody"))
        }
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn a_drain_by_name_covers_every_live_worker_of_that_name(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    for id in ["w3", "w1", "w2"] {
        leader
            .upsert_worker(&worker(id, "same"))
            .await
            .expect("insert");
    }
    let mut lost = worker("w0", "same");
    lost.state = "lost".to_owned();
    leader.upsert_worker(&lost).await.expect("insert");
    let drained = store
        .request_drain("same", "admin", at(1))
        .await
        .expect("drain");
    let ids: Vec<&str> = drained.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, ["w1", "w2", "w3"]);
    assert!(drained.iter().all(|w| w.drain_requested));
    assert_eq!(
        store.pending_drains().await.expect("pending"),
        ["w1", "w2", "w3"]
    );
    // Once the scheduler has started draining them they are no longer pending.
    let liveness: Vec<WorkerLiveness> = ["w1", "w2"]
        .iter()
        .map(|id| WorkerLiveness {
            id: (*id).to_owned(),
            state: "draining".to_owned(),
            running: 1,
            last_heartbeat_at: at(2),
        })
        .collect();
    leader
        .update_worker_liveness(&liveness)
        .await
        .expect("liveness");
    assert_eq!(store.pending_drains().await.expect("pending"), ["w3"]);
}

async fn liveness_of_thousands_of_workers_is_written_in_one_call(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let ids: Vec<String> = (0..5_000).map(|i| format!("w{i:05}")).collect();
    for id in ids.iter().take(3) {
        leader.upsert_worker(&worker(id, id)).await.expect("insert");
    }
    let liveness: Vec<WorkerLiveness> = ids
        .iter()
        .map(|id| WorkerLiveness {
            id: id.clone(),
            state: "connected".to_owned(),
            running: 7,
            last_heartbeat_at: at(9),
        })
        .collect();
    leader
        .update_worker_liveness(&liveness)
        .await
        .expect("liveness");
    let workers = store.workers().await.expect("list");
    assert_eq!(workers.len(), 3, "unknown ids are ignored");
    assert!(
        workers
            .iter()
            .all(|w| w.running == 7 && w.last_heartbeat_at == at(9))
    );
}
