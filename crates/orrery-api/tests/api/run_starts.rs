//! Starting runs: many clients at once are answered with distinct stored runs, each as
//! a read shows it.

use crate::harness::TestApi;

#[tokio::test]
async fn fifty_concurrent_starts_are_each_answered_with_a_stored_run() {
    let api = TestApi::start().await;
    api.admin
        .apply(
            "name: tick\ntasks:\n  - {name: a, type: noop}\n  - {name: b, type: noop, depends_on: [a]}\n",
            "yaml",
        )
        .await
        .expect("apply");
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = api.admin.clone();
        starts.spawn(async move { client.start_run("tick", &Default::default()).await });
    }
    let mut ids = Vec::new();
    while let Some(started) = starts.join_next().await {
        let run = started.expect("joined").expect("started");
        let read = api.admin.get_run(run.id).await.expect("the run is stored");
        assert_eq!(
            (read.state.as_str(), read.created_at, read.logical_date),
            ("queued", run.created_at, run.logical_date),
            "the answer shows what a read shows"
        );
        let answered: Vec<_> = run.tasks.iter().map(|t| (t.id, t.task.clone())).collect();
        let stored: Vec<_> = read.tasks.iter().map(|t| (t.id, t.task.clone())).collect();
        assert_eq!(answered, stored);
        ids.push(run.id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "fifty distinct runs");
}
