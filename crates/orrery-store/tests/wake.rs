//! Wake-up hints across nodes: on PostgreSQL a hint sent by one store handle reaches
//! a listener on another; on SQLite there is nothing to listen to.

use orrery_store::test_support::TestStore;
use std::time::Duration;

#[tokio::test]
async fn a_hint_reaches_another_node_on_postgres() {
    let Some(test) = TestStore::postgres().await.expect("postgres") else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    let other_node = test.reopen().await.expect("a second handle");
    let mut listener = other_node
        .listen_wakes()
        .await
        .expect("listen")
        .expect("PostgreSQL listens");
    test.store.notify_wake().await.expect("notify");
    tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("the hint arrives")
        .expect("no error");
}

#[tokio::test]
async fn sqlite_has_no_listener_and_hints_are_no_ops() {
    let test = TestStore::sqlite().await.expect("sqlite");
    assert!(test.store.listen_wakes().await.expect("listen").is_none());
    test.store.notify_wake().await.expect("a no-op");
}
