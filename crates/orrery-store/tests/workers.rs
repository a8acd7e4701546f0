//! The store's contract for workers: registrations, liveness and drain requests.

use chrono::{DateTime, Utc};
use orrery_store::records::WorkerRecord;
use orrery_store::{Store, StoreError, WorkerLiveness};

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

#[tokio::test]
async fn registrations_liveness_and_drains_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).await.expect("open store");
    store
        .upsert_worker(&worker("w1", "alpha"))
        .await
        .expect("insert");
    store
        .upsert_worker(&worker("w2", "beta"))
        .await
        .expect("insert");
    store
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
    store
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
