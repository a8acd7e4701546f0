//! Rerunning, retrying and marking tasks of ended runs, and the DAG view.

use orrery_client::types::{RerunRequest, Run, TaskInstance, TaskRetryRequest};
use orrery_testkit::{TestServer, wait_for_run_end};
use std::path::Path;
use std::time::Duration;

fn latest<'a>(run: &'a Run, name: &str) -> &'a TaskInstance {
    run.tasks
        .iter()
        .filter(|t| t.task == name)
        .max_by_key(|t| t.attempt)
        .unwrap_or_else(|| panic!("no task {name} in {run:?}"))
}

/// `a` counts its executions and outputs a value; `b` fails until `fix` exists; `c`
/// follows `b`.
fn spec(dir: &Path) -> String {
    format!(
        r#"
name: flaky-pipeline
tasks:
  - name: a
    type: shell
    script: echo a >> {d}/a.count; echo "token=$ORRERY_RUN_ID" >> "$ORRERY_OUTPUT"
  - name: b
    type: shell
    depends_on: [a]
    script: test -e {d}/fix
  - name: c
    type: shell
    depends_on: [b]
    script: echo "c sees {{{{ tasks.a.outputs.token }}}}"
"#,
        d = dir.display()
    )
}

async fn failed_first_run(server: &TestServer, dir: &Path) -> Run {
    server.apply(&spec(dir)).await;
    let run = server.run_to_end("flaky-pipeline").await;
    assert_eq!(run.state, "failed");
    assert_eq!(latest(&run, "c").state, "upstream_failed");
    std::fs::write(dir.join("fix"), "").expect("fix");
    run
}

fn executions_of_a(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("a.count"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_from_failed_keeps_succeeded_tasks_and_their_outputs() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let first = failed_first_run(&server, dir.path()).await;
    let rerun = server
        .client
        .rerun(first.id, &RerunRequest { from_failed: true })
        .await
        .expect("rerun");
    let rerun = wait_for_run_end(&server.client, rerun.id, Duration::from_secs(30)).await;
    assert_eq!(rerun.state, "success", "{rerun:#?}");
    assert_eq!(rerun.rerun_of, Some(first.id));
    assert_eq!(executions_of_a(dir.path()), 1, "a was not executed again");
    let kept = latest(&rerun, "a");
    assert_eq!(
        kept.outputs.get("token"),
        latest(&first, "a").outputs.get("token")
    );
    let logs = server
        .client
        .logs(rerun.id, Some("c"), None)
        .await
        .expect("logs");
    assert_eq!(
        logs[0].text,
        format!("c sees {}", first.id),
        "c read the kept output"
    );

    let full = server
        .client
        .rerun(first.id, &RerunRequest::default())
        .await
        .expect("rerun");
    let full = wait_for_run_end(&server.client, full.id, Duration::from_secs(30)).await;
    assert_eq!(full.state, "success");
    assert_eq!(
        executions_of_a(dir.path()),
        2,
        "a full rerun runs everything"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_task_of_an_ended_run_carries_the_run_on() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let first = failed_first_run(&server, dir.path()).await;
    server
        .client
        .retry_task(first.id, "b", &TaskRetryRequest::default())
        .await
        .expect("retry");
    let run = wait_for_run_end(&server.client, first.id, Duration::from_secs(30)).await;
    assert_eq!(run.state, "success", "{run:#?}");
    let attempts: Vec<(u32, &str)> = run
        .tasks
        .iter()
        .filter(|t| t.task == "b")
        .map(|t| (t.attempt, t.state.as_str()))
        .collect();
    assert_eq!(attempts, vec![(1, "failed"), (2, "success")]);
    assert_eq!(latest(&run, "c").state, "success");
    assert_eq!(executions_of_a(dir.path()), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_a_failed_task_success_lets_the_rest_run_and_records_who() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    server.apply(&spec(dir.path())).await;
    let first = server.run_to_end("flaky-pipeline").await;
    server
        .client
        .mark_task(first.id, "b", "success")
        .await
        .expect("mark");
    let run = wait_for_run_end(&server.client, first.id, Duration::from_secs(30)).await;
    assert_eq!(run.state, "success", "{run:#?}");
    let b = latest(&run, "b");
    assert_eq!(b.state, "success");
    assert!(
        b.error
            .as_deref()
            .unwrap_or("")
            .contains("marked success by token:admin"),
        "{b:?}"
    );
    let bad = server
        .client
        .mark_task(first.id, "b", "running")
        .await
        .expect_err("refused");
    assert_eq!(bad.problem().map(|p| p.status), Some(400));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_run_cannot_be_retried_by_task() {
    let server = TestServer::start().await;
    server
        .apply("name: slow\ntasks:\n  - {name: t, type: shell, script: 'sleep 30'}\n")
        .await;
    let run = server
        .client
        .start_run("slow", &Default::default())
        .await
        .expect("start");
    let error = server
        .client
        .retry_task(run.id, "t", &TaskRetryRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(error.problem().map(|p| p.status), Some(409));
    server.client.cancel_run(run.id).await.expect("cancel");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_lists_tasks_edges_and_run_states() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let first = failed_first_run(&server, dir.path()).await;
    let graph = server
        .client
        .graph("flaky-pipeline", Some(first.id))
        .await
        .expect("graph");
    let edges: Vec<(&str, &str)> = graph
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(edges, vec![("a", "b"), ("b", "c")]);
    let states: Vec<(&str, Option<&str>)> = graph
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.state.as_deref()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("a", Some("success")),
            ("b", Some("failed")),
            ("c", Some("upstream_failed"))
        ]
    );
    let plain = server
        .client
        .graph("flaky-pipeline", None)
        .await
        .expect("graph");
    assert!(plain.nodes.iter().all(|n| n.state.is_none()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_rerun_from_failed_runs_its_own_on_failure_handler() {
    let server = TestServer::start().await;
    server
        .apply(
            "name: paged\non_failure: page\ntasks:\n  - {name: work, type: shell, script: 'exit 3'}\n  - {name: page, type: shell, script: 'echo paged for run $ORRERY_RUN_ID'}\n",
        )
        .await;
    let first = server.run_to_end("paged").await;
    assert_eq!(first.state, "failed");
    assert_eq!(latest(&first, "page").state, "success");
    let rerun = server
        .client
        .rerun(first.id, &RerunRequest { from_failed: true })
        .await
        .expect("rerun");
    let rerun = wait_for_run_end(&server.client, rerun.id, Duration::from_secs(30)).await;
    assert_eq!(rerun.state, "failed");
    let logs = server
        .client
        .logs(rerun.id, Some("page"), None)
        .await
        .expect("logs");
    assert_eq!(
        logs.first().map(|l| l.text.clone()),
        Some(format!("paged for run {}", rerun.id)),
        "the rerun's own handler ran"
    );
    server.stop().await;
}
