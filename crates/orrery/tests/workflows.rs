//! Workflows in depth on a real server: trigger rules, conditions, branches,
//! handlers, typed params, sub-workflows, run timeouts, and http and python tasks
//! against real servers and interpreters.

use orrery_client::types::{Run, StartRunRequest, TaskInstance};
use orrery_testkit::{Scripted, ScriptedHttpServer, TestServer, wait_for_run_end};
use std::time::Duration;

fn latest<'a>(run: &'a Run, name: &str) -> &'a TaskInstance {
    run.tasks
        .iter()
        .filter(|t| t.task == name)
        .max_by_key(|t| t.attempt)
        .unwrap_or_else(|| panic!("no task {name} in {run:#?}"))
}

fn states<'a>(run: &'a Run, names: &[&str]) -> Vec<(String, &'a str)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), latest(run, n).state.as_str()))
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, &'static str)> {
    pairs
        .iter()
        .map(|(n, s)| {
            (
                (*n).to_owned(),
                Box::leak((*s).to_owned().into_boxed_str()) as &'static str,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_rules_conditions_and_handlers_decide_what_runs() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: rules
on_failure: alert
on_success: celebrate
tasks:
  - {name: ok, type: shell, script: 'echo "rows=3" >> "$ORRERY_OUTPUT"'}
  - {name: bad, type: shell, script: 'exit 1'}
  - {name: cleanup, type: noop, depends_on: [ok, bad], trigger_rule: all_done}
  - {name: on-error, type: noop, depends_on: [bad], trigger_rule: one_failed}
  - {name: strict, type: noop, depends_on: [ok, bad]}
  - {name: big, type: noop, depends_on: [ok], when: "tasks.ok.outputs.rows | int > 10"}
  - {name: after-big, type: noop, depends_on: [big]}
  - {name: small, type: noop, depends_on: [ok], when: "tasks.ok.outputs.rows | int <= 10"}
  - {name: alert, type: shell, script: 'echo failed'}
  - {name: celebrate, type: noop}
"#,
        )
        .await;
    let run = server.run_to_end("rules").await;
    assert_eq!(run.state, "failed");
    assert_eq!(
        states(
            &run,
            &[
                "cleanup",
                "on-error",
                "strict",
                "big",
                "after-big",
                "small",
                "alert",
                "celebrate"
            ]
        ),
        expect(&[
            ("cleanup", "success"),
            ("on-error", "success"),
            ("strict", "upstream_failed"),
            ("big", "skipped"),
            ("after-big", "skipped"),
            ("small", "success"),
            ("alert", "success"),
            ("celebrate", "skipped"),
        ])
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_task_chooses_its_downstream() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: branchy
tasks:
  - {name: choose, type: branch, script: 'echo "next=fast" >> "$ORRERY_OUTPUT"'}
  - {name: fast, type: noop, depends_on: [choose]}
  - {name: slow, type: noop, depends_on: [choose]}
  - {name: join, type: noop, depends_on: [fast, slow], trigger_rule: none_failed_min_one_success}
"#,
        )
        .await;
    let run = server.run_to_end("branchy").await;
    assert_eq!(run.state, "success", "{run:#?}");
    assert_eq!(
        states(&run, &["fast", "slow", "join"]),
        expect(&[
            ("fast", "success"),
            ("slow", "skipped"),
            ("join", "success")
        ])
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_condition_that_cannot_be_evaluated_fails_only_its_task() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: broken-when
tasks:
  - {name: a, type: noop}
  - {name: b, type: noop, depends_on: [a], when: "tasks.a.outputs.missing == 'x'"}
  - {name: c, type: noop, depends_on: [a]}
"#,
        )
        .await;
    let run = server.run_to_end("broken-when").await;
    assert_eq!(run.state, "failed");
    let b = latest(&run, "b");
    assert_eq!(b.state, "failed");
    assert!(
        b.error.as_deref().unwrap_or("").contains("missing"),
        "{b:?}"
    );
    assert_eq!(latest(&run, "c").state, "success");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_params_are_checked_before_anything_starts() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: typed
params:
  date: {type: string, required: true}
  limit: {type: int, default: 10}
tasks:
  - {name: t, type: shell, script: 'echo "{{ params.date }} {{ params.limit + 1 }}"'}
"#,
        )
        .await;
    let missing = server
        .client
        .start_run("typed", &StartRunRequest::default())
        .await
        .expect_err("refused");
    let problem = missing.problem().expect("problem");
    assert_eq!(problem.status, 400);
    assert_eq!(
        problem.errors.first().map(|e| e.path.as_str()),
        Some("params.date")
    );
    let mut request = StartRunRequest::default();
    request.params.insert("date".into(), "2026-11-24".into());
    request.params.insert("limit".into(), "nope".into());
    let ill_typed = server
        .client
        .start_run("typed", &request)
        .await
        .expect_err("refused");
    assert_eq!(
        ill_typed
            .problem()
            .and_then(|p| p.errors.first())
            .map(|e| e.path.as_str()),
        Some("params.limit")
    );
    request.params.insert("limit".into(), serde_json::json!(41));
    let run = server
        .client
        .start_run("typed", &request)
        .await
        .expect("start");
    let run = wait_for_run_end(&server.client, run.id, Duration::from_secs(30)).await;
    assert_eq!(run.state, "success");
    let logs = server.client.logs(run.id, None, None).await.expect("logs");
    assert_eq!(logs[0].text, "2026-11-24 42");
    let runs = server
        .client
        .list_runs(&Default::default())
        .await
        .expect("runs");
    assert_eq!(runs.items.len(), 1, "refused runs were never created");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_workflow_runs_as_a_child_and_its_failure_fails_the_parent() {
    let server = TestServer::start().await;
    server
        .apply("name: child\nparams: {fail: {type: bool, default: false}}\ntasks:\n  - {name: work, type: shell, script: 'echo child; [ \"{{ params.fail }}\" = false ]'}\n")
        .await;
    server
        .apply(
            r#"
name: parent
params: {fail: false}
tasks:
  - {name: call, type: job, job: child, params: {fail: "{{ params.fail }}"}}
  - {name: after, type: noop, depends_on: [call]}
"#,
        )
        .await;
    let ok = server.run_to_end("parent").await;
    assert_eq!(ok.state, "success", "{ok:#?}");
    let child_id: i64 = latest(&ok, "call")
        .outputs
        .get("run_id")
        .and_then(|v| v.parse().ok())
        .expect("child run id");
    let child = server.client.get_run(child_id).await.expect("child");
    assert_eq!(
        (
            child.job.as_str(),
            child.state.as_str(),
            child.trigger.as_str()
        ),
        ("child", "success", "parent")
    );

    let mut request = StartRunRequest::default();
    request
        .params
        .insert("fail".into(), serde_json::json!(true));
    let run = server
        .client
        .start_run("parent", &request)
        .await
        .expect("start");
    let failed = wait_for_run_end(&server.client, run.id, Duration::from_secs(30)).await;
    assert_eq!(failed.state, "failed");
    assert!(
        latest(&failed, "call")
            .error
            .as_deref()
            .unwrap_or("")
            .contains("sub-workflow run"),
        "{failed:#?}"
    );
    assert_eq!(latest(&failed, "after").state, "upstream_failed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_workflows_must_name_an_existing_job_without_cycles() {
    let server = TestServer::start().await;
    let missing = server
        .client
        .apply(
            "name: lonely\ntasks:\n  - {name: call, type: job, job: ghost}\n",
            "yaml",
        )
        .await
        .expect_err("refused");
    assert_eq!(
        missing
            .problem()
            .and_then(|p| p.errors.first())
            .map(|e| e.path.as_str()),
        Some("tasks[0].job")
    );
    server
        .apply("name: a\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    server
        .apply("name: b\ntasks:\n  - {name: call, type: job, job: a}\n")
        .await;
    let cycle = server
        .client
        .apply(
            "name: a\ntasks:\n  - {name: call, type: job, job: b}\n",
            "yaml",
        )
        .await
        .expect_err("refused");
    let message = cycle
        .problem()
        .and_then(|p| p.errors.first())
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert!(message.contains("a → b → a"), "{message}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_its_timeout_fails_and_its_processes_stop() {
    let server = TestServer::start().await;
    server
        .apply(
            "name: overdue\ntimeout: 1s\ntasks:\n  - {name: t, type: shell, script: 'sleep 60'}\n",
        )
        .await;
    let run = server.run_to_end("overdue").await;
    assert_eq!(run.state, "failed");
    let t = latest(&run, "t");
    assert_eq!(t.state, "cancelled");
    assert!(
        t.error
            .as_deref()
            .unwrap_or("")
            .contains("timed out after 1s"),
        "{t:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_task_is_retried_through_503s_and_checks_the_json() {
    let server = TestServer::start().await;
    let api = ScriptedHttpServer::start(vec![
        Scripted::json(503, "{}"),
        Scripted::json(503, "{}"),
        Scripted::json(200, r#"{"status": "ok", "items": [{"id": 7}]}"#),
    ])
    .await;
    server
        .apply(&format!(
            r#"
name: call-api
tasks:
  - name: ping
    type: http
    url: "{url}/health"
    retries: 3
    retry_delay: 0s
    expect_json: {{path: "$.status", equals: ok}}
  - name: use
    type: shell
    depends_on: [ping]
    script: echo "status {{{{ tasks.ping.outputs.status }}}}"
"#,
            url = api.url
        ))
        .await;
    let run = server.run_to_end("call-api").await;
    assert_eq!(run.state, "success", "{run:#?}");
    let attempts: Vec<&str> = run
        .tasks
        .iter()
        .filter(|t| t.task == "ping")
        .map(|t| t.state.as_str())
        .collect();
    assert_eq!(attempts, vec!["failed", "failed", "success"]);
    assert_eq!(api.requests(), 3);
    let logs = server
        .client
        .logs(run.id, Some("use"), None)
        .await
        .expect("logs");
    assert_eq!(logs[0].text, "status 200");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_task_against_a_silent_server_times_out() {
    let server = TestServer::start().await;
    let api = ScriptedHttpServer::start(vec![Scripted::silent()]).await;
    server
        .apply(&format!(
            "name: hang\ntasks:\n  - {{name: call, type: http, url: '{}', timeout: 1s}}\n",
            api.url
        ))
        .await;
    let run = server.run_to_end("hang").await;
    assert_eq!(latest(&run, "call").state, "timed_out", "{run:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_task_sees_its_params_and_writes_outputs() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: py
params: {n: 6}
tasks:
  - name: compute
    type: python
    script: |
      import json, os
      params = json.loads(os.environ["ORRERY_PARAMS"])
      print("computing", params["n"])
      with open(os.environ["ORRERY_OUTPUT"], "w") as out:
          json.dump({"square": params["n"] ** 2}, out)
  - {name: show, type: shell, depends_on: [compute], script: 'echo "{{ tasks.compute.outputs.square }}"'}
"#,
        )
        .await;
    let run = server.run_to_end("py").await;
    assert_eq!(run.state, "success", "{run:#?}");
    assert_eq!(
        latest(&run, "compute")
            .outputs
            .get("square")
            .map(String::as_str),
        Some("36")
    );
    let logs = server
        .client
        .logs(run.id, Some("show"), None)
        .await
        .expect("logs");
    assert_eq!(logs[0].text, "36");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exponential_backoff_spaces_out_retries() {
    let server = TestServer::start().await;
    server
        .apply("name: backoff\ntasks:\n  - {name: t, type: shell, script: 'exit 1', retries: 2, retry_delay: 200ms, retry_backoff: exponential}\n")
        .await;
    let run = server.run_to_end("backoff").await;
    let attempts: Vec<&TaskInstance> = run.tasks.iter().filter(|t| t.task == "t").collect();
    assert_eq!(attempts.len(), 3);
    let gap = |a: &TaskInstance, b: &TaskInstance| {
        (b.started_at.expect("started") - a.finished_at.expect("finished")).num_milliseconds()
    };
    assert!(gap(attempts[0], attempts[1]) >= 200, "{attempts:#?}");
    assert!(
        gap(attempts[1], attempts[2]) >= 400,
        "second delay doubles: {attempts:#?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_pipeline_example_routes_by_volume() {
    let server = TestServer::start().await;
    let spec =
        std::fs::read_to_string(orrery_testkit::repo_root().join("examples/order-pipeline.yaml"))
            .expect("example");
    server.apply(&spec).await;
    let quiet = server.run_to_end("order-pipeline").await;
    assert_eq!(quiet.state, "success", "{quiet:#?}");
    assert_eq!(
        states(
            &quiet,
            &["batch", "direct", "audit", "summary", "report-failure"]
        ),
        expect(&[
            ("batch", "skipped"),
            ("direct", "success"),
            ("audit", "skipped"),
            ("summary", "success"),
            ("report-failure", "skipped")
        ])
    );
    let mut request = StartRunRequest::default();
    request
        .params
        .insert("orders".into(), serde_json::json!(120));
    let busy = server
        .client
        .start_run("order-pipeline", &request)
        .await
        .expect("start");
    let busy = wait_for_run_end(&server.client, busy.id, Duration::from_secs(30)).await;
    assert_eq!(
        states(&busy, &["batch", "direct", "audit", "summary"]),
        expect(&[
            ("batch", "success"),
            ("direct", "skipped"),
            ("audit", "success"),
            ("summary", "success")
        ])
    );
    let logs = server
        .client
        .logs(busy.id, Some("summary"), None)
        .await
        .expect("logs");
    assert_eq!(logs[0].text, "done with 120 orders");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_parent_cancels_its_running_child() {
    let server = TestServer::start().await;
    server
        .apply("name: slow-child\ntasks:\n  - {name: wait, type: shell, script: 'sleep 300'}\n")
        .await;
    server
        .apply("name: waiting-parent\ntasks:\n  - {name: call, type: job, job: slow-child}\n")
        .await;
    let run = server
        .client
        .start_run("waiting-parent", &StartRunRequest::default())
        .await
        .expect("start");
    let child_id: i64 =
        orrery_testkit::eventually_async("the child to start", Duration::from_secs(20), || async {
            let run = server.client.get_run(run.id).await.ok()?;
            let child: i64 = latest(&run, "call").outputs.get("run_id")?.parse().ok()?;
            let child_run = server.client.get_run(child).await.ok()?;
            (latest(&child_run, "wait").state == "running").then_some(child)
        })
        .await;
    server.client.cancel_run(run.id).await.expect("cancel");
    let child = wait_for_run_end(&server.client, child_id, Duration::from_secs(20)).await;
    assert_eq!(child.state, "cancelled");
    let parent = wait_for_run_end(&server.client, run.id, Duration::from_secs(20)).await;
    assert_eq!(parent.state, "cancelled");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn higher_priority_tasks_take_scarce_slots_first() {
    let server = TestServer::start_with(|config| config.worker_slots = 1).await;
    server
        .apply(
            r#"
name: prio
tasks:
  - {name: gate, type: noop}
  - {name: low-a, type: noop, depends_on: [gate], priority: -5}
  - {name: low-b, type: noop, depends_on: [gate], priority: -5}
  - {name: urgent, type: noop, depends_on: [gate], priority: 100}
"#,
        )
        .await;
    let run = server.run_to_end("prio").await;
    assert_eq!(run.state, "success");
    let urgent = latest(&run, "urgent").started_at.expect("started");
    for low in ["low-a", "low-b"] {
        assert!(
            urgent <= latest(&run, low).started_at.expect("started"),
            "{run:#?}"
        );
    }
    server.stop().await;
}
