//! Sub-workflow loops are refused in the apply transaction, on both backends: the
//! edges live with each job's latest version, so no apply reads every spec and two
//! applies cannot close a loop together.

mod common;

use common::at;
use orrery_store::test_support::TestStore;
use orrery_store::{JobApply, StoreError, backend_tests};

backend_tests!(a_version_that_would_close_a_loop_is_refused_with_the_loop);

/// A canonical spec whose tasks start `calls`.
fn spec(name: &str, calls: &[&str]) -> String {
    let tasks: Vec<serde_json::Value> = if calls.is_empty() {
        vec![serde_json::json!({"name": "t", "type": "noop"})]
    } else {
        calls
            .iter()
            .enumerate()
            .map(|(i, job)| serde_json::json!({"name": format!("t{i}"), "type": "job", "job": job}))
            .collect()
    };
    serde_json::json!({"name": name, "tasks": tasks}).to_string()
}

async fn apply(test: &TestStore, name: &str, calls: &[&str]) -> Result<(), StoreError> {
    let spec = spec(name, calls);
    test.store
        .api_intents()
        .apply_job(&JobApply {
            project: "default",
            name,
            canonical_spec: &spec,
            paused: None,
            actor: "test",
            now: at(0),
        })
        .await
        .map(|_| ())
}

async fn a_version_that_would_close_a_loop_is_refused_with_the_loop(test: TestStore) {
    apply(&test, "c", &[]).await.expect("c");
    apply(&test, "b", &["c"]).await.expect("b starts c");
    apply(&test, "a", &["b"]).await.expect("a starts b");
    // c starting a would close a → b → c → a.
    match apply(&test, "c", &["a"]).await {
        Err(StoreError::SubWorkflowCycle { chain }) => assert_eq!(chain, ["c", "a", "b", "c"]),
        other => panic!("expected the loop, got {other:?}"),
    }
    // Nothing of the refused version was stored.
    let c = test
        .store
        .find_job("default", "c")
        .await
        .expect("find")
        .expect("c");
    assert_eq!(c.latest_version, 1);
    // Once b no longer starts c (a new version), or a is deleted, c may start a.
    apply(&test, "b", &[]).await.expect("b starts nothing now");
    apply(&test, "c", &["a"]).await.expect("no loop any more");
    apply(&test, "b", &["c"])
        .await
        .expect_err("b → c → a → b would loop again");
    test.store
        .api_intents()
        .delete_job("default", "a", "test", at(1))
        .await
        .expect("delete a");
    apply(&test, "b", &["c"]).await.expect("a is gone: no loop");
}
