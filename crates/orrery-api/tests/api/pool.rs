//! An exhausted database pool: requests fail fast with 503 problem+json naming the
//! database, and the API recovers by itself once a connection is free again.

use crate::harness::{ADMIN_SECRET, TestApi, at};
use orrery_core::clock::ManualClock;
use orrery_store::test_support::hold_connection;
use orrery_store::{Store, StoreOptions};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn an_exhausted_pool_answers_503_fast_and_recovers() {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", data_dir.path().join("orrery.db").display());
    let options = StoreOptions {
        max_connections: 1,
        acquire_timeout: Duration::from_millis(300),
    };
    let store = Store::connect_with(&url, &options).await.expect("open");
    let api = TestApi::start_on(store.clone(), data_dir, Arc::new(ManualClock::new(at(0)))).await;

    let held = hold_connection(&store)
        .await
        .expect("take the only connection");
    let response = api
        .http
        .get(format!("{}/api/v1/jobs", api.base))
        .bearer_auth(ADMIN_SECRET)
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(response.status(), 503);
    let problem: serde_json::Value = response.json().await.expect("problem+json");
    assert_eq!(problem["code"], "unavailable", "{problem}");

    drop(held);
    let jobs = api.admin.list_jobs().await.expect("recovered");
    assert!(jobs.is_empty());
}
