//! Cancel, SIGTERM and drains reaching remote workers.

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_a_remote_task_and_kills_its_process_group() {
    let server = server().await;
    let _worker = Worker::start(&server, "w", &[]);
    wait_for_workers(&server, &["w"]).await;
    server
        .apply(
            r#"
name: long
tasks:
  - name: sleeper
    type: shell
    script: 'sleep 60 & echo $!; wait'
"#,
        )
        .await;
    let run = start(&server, "long").await;
    let pid = eventually_async("the grandchild's pid in the log", SAFETY, || async {
        let logs = server.client.logs(run, Some("sleeper"), None).await.ok()?;
        logs.first()?.text.trim().parse::<i32>().ok()
    })
    .await;
    server.client.cancel_run(run).await.expect("cancel");
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "cancelled");
    eventually_async("the remote process to be gone", SAFETY, || async {
        (kill(Pid::from_raw(pid), None).is_err()).then_some(())
    })
    .await;
    // Its slot is free again: worker list shows nothing running on it.
    eventually_async("the worker's slot to be free", SAFETY, || async {
        let workers = server.client.list_workers().await.ok()?;
        let w = workers.iter().find(|w| w.name == "w")?;
        (w.running == 0).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_worker_its_task_finishes_and_it_exits() {
    let server = server().await;
    let mut worker = Worker::start(&server, "leaving", &[]);
    wait_for_workers(&server, &["leaving"]).await;
    apply_one(&server, "finish-first", r#"sleep 1; echo finished"#).await;
    let run = start(&server, "finish-first").await;
    attempt_in(&server, run, "work", "running").await;
    worker.signal(Signal::SIGTERM);
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success", "the running task finished");
    let deadline = std::time::Instant::now() + SAFETY;
    let status = loop {
        if let Some(status) = worker.child.try_wait().expect("wait on the worker") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not exit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a drained worker exits 0: {status:?}");
    // It took nothing new meanwhile: a second run waits for a worker.
    let second = start(&server, "finish-first").await;
    let waiting = attempt_in(&server, second, "work", "queued").await;
    assert!(waiting.worker.is_none());
    server.client.cancel_run(second).await.expect("cancel");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_worker_gets_no_new_tasks() {
    let server = server().await;
    let _first = Worker::start(&server, "first", &[]);
    let _second = Worker::start(&server, "second", &[]);
    wait_for_workers(&server, &["first", "second"]).await;
    let drained = server.client.drain_worker("first").await.expect("drain");
    assert_eq!(drained.len(), 1);
    eventually_async("first to drain", SAFETY, || async {
        let workers = server.server.store.workers().await.ok()?;
        workers
            .iter()
            .any(|w| w.name == "first" && matches!(w.state.as_str(), "drained" | "disconnected"))
            .then_some(())
    })
    .await;
    server
        .apply("name: after-drain\ntasks:\n  - {name: t, type: shell, script: 'echo hi'}\n")
        .await;
    for _ in 0..5 {
        let run = start(&server, "after-drain").await;
        assert_eq!(
            wait_for_run_end(&server.client, run, SAFETY).await.state,
            "success"
        );
        let attempts = tasks(&server, run).await;
        assert_eq!(attempts[0].worker.as_deref(), Some("second"));
    }
    server.stop().await;
}
