//! Where tasks run: groups, labels, resources, broadcast, and volume.

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_land_only_on_workers_that_fit_and_others_say_why_they_wait() {
    let server = server().await;
    let _cpu = Worker::start(&server, "cpu-1", &["--label", "zone=a", "--gpus", "0"]);
    let _gpu = Worker::start(&server, "gpu-1", &["--group", "gpu", "--gpus", "1"]);
    wait_for_workers(&server, &["cpu-1", "gpu-1"]).await;
    server
        .apply(
            r#"
name: placement
tasks:
  - name: train
    type: shell
    script: echo training
    worker: {group: gpu}
    resources: {gpu: 1}
  - name: etl
    type: shell
    script: echo etl
    worker: {labels: {zone: a}}
  - name: two-gpus
    type: shell
    script: echo never
    worker: {group: gpu}
    resources: {gpu: 2}
"#,
        )
        .await;
    let run = start(&server, "placement").await;
    let waiting = eventually_async("two-gpus to say why it waits", SAFETY, || async {
        tasks(&server, run)
            .await
            .into_iter()
            .find(|t| t.task_name == "two-gpus")
            .and_then(|t| t.waiting_reason)
    })
    .await;
    assert_eq!(waiting, "no worker in group \"gpu\" has 2 GPUs");
    let train = attempt_in(&server, run, "train", "success").await;
    let etl = attempt_in(&server, run, "etl", "success").await;
    assert_eq!(train.worker.as_deref(), Some("gpu-1"));
    assert_eq!(etl.worker.as_deref(), Some("cpu-1"));
    assert!(train.worker_id.is_some());
    server.client.cancel_run(run).await.expect("cancel");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_task_runs_once_on_each_worker_with_distinct_shards() {
    let server = server().await;
    let _workers: Vec<Worker> = ["b1", "b2", "b3"]
        .iter()
        .map(|name| Worker::start(&server, name, &[]))
        .collect();
    wait_for_workers(&server, &["b1", "b2", "b3"]).await;
    server
        .apply(
            r#"
name: everywhere
tasks:
  - name: clean
    type: shell
    script: 'echo "shard $ORRERY_SHARD_INDEX of $ORRERY_SHARD_TOTAL"'
    dispatch: broadcast
"#,
        )
        .await;
    let run = start(&server, "everywhere").await;
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let shards: Vec<TaskRecord> = tasks(&server, run)
        .await
        .into_iter()
        .filter(|t| t.map_index.is_some())
        .collect();
    assert_eq!(shards.len(), 3);
    let mut workers: Vec<String> = shards.iter().filter_map(|t| t.worker.clone()).collect();
    workers.sort();
    assert_eq!(workers, ["b1", "b2", "b3"]);
    let logs = server.client.logs(run, None, None).await.expect("logs");
    let mut lines: Vec<String> = logs
        .iter()
        .map(|l| l.text.clone())
        .filter(|t| t.starts_with("shard"))
        .collect();
    lines.sort();
    assert_eq!(lines, ["shard 0 of 3", "shard 1 of 3", "shard 2 of 3"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_through_two_workers_all_complete_once() {
    let server = server_with_ttl(Duration::from_secs(30)).await;
    let _a = Worker::start(&server, "a", &[]);
    let _b = Worker::start(&server, "b", &[]);
    wait_for_workers(&server, &["a", "b"]).await;
    server
        .apply(
            "name: many\ntasks:\n  - {name: each, type: noop, for_each: '{{ range(10000) | list }}'}\n",
        )
        .await;
    let run = start(&server, "many").await;
    let ended = wait_for_run_end(&server.client, run, Duration::from_secs(240)).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    let instances: Vec<&TaskRecord> = attempts.iter().filter(|t| t.map_index.is_some()).collect();
    assert_eq!(
        instances.len(),
        10_000,
        "one attempt each: none lost or repeated"
    );
    assert!(instances.iter().all(|t| t.state.as_str() == "success"));
    let mut indexes: Vec<u32> = instances.iter().filter_map(|t| t.map_index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 10_000);
    for name in ["a", "b"] {
        let ran = instances
            .iter()
            .filter(|t| t.worker.as_deref() == Some(name))
            .count();
        assert!(ran > 0, "worker {name} ran none");
    }
    server.stop().await;
}
