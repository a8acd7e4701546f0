//! Lost workers, late results, short disconnects and scheduler restarts.

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_task_is_retried_on_the_other_worker() {
    let server = server().await;
    let mut first = Worker::start(&server, "first", &[]);
    wait_for_workers(&server, &["first"]).await;
    apply_one(
        &server,
        "failover",
        r#"sleep 1; echo "done on attempt $ORRERY_ATTEMPT""#,
    )
    .await;
    let run = start(&server, "failover").await;
    attempt_in(&server, run, "work", "running").await;
    let _second = Worker::start(&server, "second", &[]);
    wait_for_workers(&server, &["second"]).await;
    first.signal(Signal::SIGKILL);
    let _ = first.child.wait();
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert_eq!(attempts[0].state.as_str(), "lost");
    assert_eq!(attempts[0].worker.as_deref(), Some("first"));
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no heartbeat")),
        "{:?}",
        attempts[0].error
    );
    assert_eq!(attempts[1].state.as_str(), "success");
    assert_eq!(attempts[1].worker.as_deref(), Some("second"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_worker_s_late_result_is_rejected_and_the_retry_stands() {
    let server = server().await;
    let paused = Worker::start(&server, "paused", &[]);
    wait_for_workers(&server, &["paused"]).await;
    apply_one(
        &server,
        "late",
        r#"sleep 1; echo "attempt $ORRERY_ATTEMPT""#,
    )
    .await;
    let run = start(&server, "late").await;
    attempt_in(&server, run, "work", "running").await;
    paused.signal(Signal::SIGSTOP);
    attempt_in(&server, run, "work", "lost").await;
    let _other = Worker::start(&server, "other", &[]);
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    // The paused worker wakes up, finishes attempt 1 and reports it: rejected.
    paused.signal(Signal::SIGCONT);
    let logs = eventually_async("the late result to be recorded", SAFETY, || async {
        let logs = server.client.logs(run, Some("work"), None).await.ok()?;
        logs.iter()
            .any(|l| l.text.contains("rejected result from worker paused"))
            .then_some(logs)
    })
    .await;
    assert!(logs.iter().any(|l| l.text == "attempt 2"), "{logs:#?}");
    let attempts = tasks(&server, run).await;
    assert_eq!(
        attempts[0].state.as_str(),
        "lost",
        "the late result changed nothing"
    );
    assert_eq!(attempts[1].state.as_str(), "success");
    assert_eq!(attempts[1].worker.as_deref(), Some("other"));
    server.stop_allowing_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_disconnected_shorter_than_its_ttl_keeps_its_task() {
    let server = server().await;
    let proxy = Proxy::start(server.server.grpc_addr).await;
    let _worker = Worker::start_at(
        &format!("http://{}", proxy.addr),
        WORKER_TOKEN,
        "flaky",
        &[],
    );
    wait_for_workers(&server, &["flaky"]).await;
    apply_one(
        &server,
        "keep",
        r#"sleep 2; echo "finished attempt $ORRERY_ATTEMPT""#,
    )
    .await;
    let run = start(&server, "keep").await;
    attempt_in(&server, run, "work", "running").await;
    proxy.cut();
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    assert_eq!(attempts.len(), 1, "no retry: {attempts:#?}");
    let logs = server
        .client
        .logs(run, Some("work"), None)
        .await
        .expect("logs");
    assert!(
        logs.iter().any(|l| l.text == "finished attempt 1"),
        "{logs:#?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_task_keeps_running_across_a_scheduler_restart() {
    let server = server().await;
    let _worker = Worker::start(&server, "steady", &[]);
    wait_for_workers(&server, &["steady"]).await;
    apply_one(
        &server,
        "survive",
        r#"sleep 2; echo "finished attempt $ORRERY_ATTEMPT""#,
    )
    .await;
    let run = start(&server, "survive").await;
    attempt_in(&server, run, "work", "running").await;
    let server = server.restart().await;
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    assert_eq!(attempts.len(), 1, "adopted, not retried: {attempts:#?}");
    assert_eq!(attempts[0].worker.as_deref(), Some("steady"));
    server.stop().await;
}
