//! `GET /workers` and `POST /workers/{name}/drain`.

use crate::harness::{ADMIN_SECRET, TestApi, at, problem, raw_problem, worker};
use orrery_client::types::WorkerInfo;
use std::time::Duration;

#[tokio::test]
async fn listing_shows_every_worker_with_its_capacity_labels_and_times() {
    let api = TestApi::start().await;
    assert!(api.admin.list_workers().await.expect("list").is_empty());
    let leader = orrery_store::test_support::leader_of(&api.store).await;
    leader
        .upsert_worker(&worker("w2", "beta"))
        .await
        .expect("insert beta");
    leader
        .upsert_worker(&worker("w1", "alpha"))
        .await
        .expect("insert alpha");

    let workers = api.admin.list_workers().await.expect("list");
    let expected = WorkerInfo {
        id: "w1".to_owned(),
        name: "alpha".to_owned(),
        group: "gpu".to_owned(),
        labels: [("zone".to_owned(), "a".to_owned())].into(),
        slots: 4,
        cpu_millis: 8000,
        memory_bytes: 16 << 30,
        gpus: 2,
        disk_bytes: 100 << 30,
        version: "0.1.0".to_owned(),
        state: "connected".to_owned(),
        running: 1,
        registered_at: at(0),
        last_heartbeat_at: at(30),
        drain_requested: false,
    };
    assert_eq!(workers.len(), 2);
    assert_eq!(workers[0], expected);
    assert_eq!(workers[1].name, "beta");

    // The wire shape: labels as an object, times in RFC 3339.
    let raw: serde_json::Value = api
        .request(reqwest::Method::GET, "/api/v1/workers", ADMIN_SECRET)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let first = &raw[0];
    assert_eq!(first["labels"], serde_json::json!({"zone": "a"}));
    let heartbeat = first["last_heartbeat_at"].as_str().expect("a string");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(heartbeat).expect("RFC 3339"),
        at(30)
    );
}

#[tokio::test]
async fn draining_a_known_worker_answers_202_and_leaves_a_pending_drain() {
    let api = TestApi::start().await;
    let leader = orrery_store::test_support::leader_of(&api.store).await;
    leader
        .upsert_worker(&worker("w1", "alpha"))
        .await
        .expect("insert alpha");
    leader
        .upsert_worker(&worker("w2", "beta"))
        .await
        .expect("insert beta");

    let response = api
        .request(
            reqwest::Method::POST,
            "/api/v1/workers/beta/drain",
            ADMIN_SECRET,
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 202);
    let drained: Vec<WorkerInfo> = response.json().await.expect("workers");
    assert_eq!(drained.len(), 1);
    assert_eq!(
        (drained[0].id.as_str(), drained[0].drain_requested),
        ("w2", true)
    );
    assert_eq!(api.store.pending_drains().await.expect("pending"), ["w2"]);
    // The scheduler is woken at once rather than at its next poll.
    tokio::time::timeout(Duration::from_secs(5), api.scheduler_wake.notified())
        .await
        .expect("the scheduler was woken");

    // By id, through the typed client.
    let drained = api.admin.drain_worker("w1").await.expect("drain by id");
    assert_eq!(drained[0].name, "alpha");
    let mut pending = api.store.pending_drains().await.expect("pending");
    pending.sort();
    assert_eq!(pending, ["w1", "w2"]);
    let audit = api.store.list_audit(10).await.expect("audit log");
    let drains: Vec<&str> = audit
        .iter()
        .filter(|a| a.action == "worker.drain")
        .map(|a| a.resource.as_str())
        .collect();
    assert_eq!(drains, ["worker/w1", "worker/w2"], "newest first");
}

#[tokio::test]
async fn draining_an_unknown_worker_is_a_404_problem_naming_it() {
    let api = TestApi::start().await;
    let response = api
        .request(
            reqwest::Method::POST,
            "/api/v1/workers/nobody/drain",
            ADMIN_SECRET,
        )
        .send()
        .await
        .expect("send");
    let (status, content_type, p) = raw_problem(response).await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "application/problem+json")
    );
    assert_eq!(p.code, "not_found");
    assert!(p.detail.contains("nobody"), "{p:?}");

    let p = problem(api.admin.drain_worker("nobody").await.expect_err("refused"));
    assert_eq!((p.status, p.code.as_str()), (404, "not_found"));
    assert!(
        api.store
            .pending_drains()
            .await
            .expect("pending")
            .is_empty()
    );
}
