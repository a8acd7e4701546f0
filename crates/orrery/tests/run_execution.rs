//! End to end on an in-process server: DAGs of real processes, outputs, logs,
//! failures, retries, timeouts and cancellation.

use orrery_client::types::{Run, TaskInstance};
use orrery_testkit::{TestServer, eventually_async, repo_root, wait_for_run_end};
use std::time::Duration;

fn task<'a>(run: &'a Run, name: &str) -> &'a TaskInstance {
    run.tasks
        .iter()
        .filter(|t| t.task == name)
        .max_by_key(|t| t.attempt)
        .unwrap_or_else(|| panic!("run {} has no task {name}: {:?}", run.id, run.tasks))
}

async fn log_text(server: &TestServer, run: i64, task: &str) -> String {
    let lines = server
        .client
        .logs(run, Some(task), None)
        .await
        .expect("read logs");
    lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn process_is_gone(pid: i32) -> bool {
    // Signal 0 only checks that the process exists.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etl_example_runs_the_diamond_and_passes_outputs_downstream() {
    let server = TestServer::start().await;
    let spec =
        std::fs::read_to_string(repo_root().join("examples/etl-daily.yaml")).expect("read example");
    server.apply(&spec).await;
    let run = server.run_to_end("etl-daily").await;
    assert_eq!(run.state, "success", "{run:#?}");
    for name in ["extract", "clean", "enrich", "report"] {
        let t = task(&run, name);
        assert_eq!(
            (t.state.as_str(), t.exit_code),
            ("success", Some(0)),
            "{name}: {t:?}"
        );
        assert_eq!(t.worker.as_deref(), Some("embedded"));
    }
    assert_eq!(
        task(&run, "extract")
            .outputs
            .get("rows")
            .map(String::as_str),
        Some("42")
    );
    assert_eq!(
        task(&run, "report")
            .outputs
            .get("report")
            .map(String::as_str),
        Some("sales-cn.csv")
    );
    assert!(
        log_text(&server, run.id, "extract")
            .await
            .contains("extracting orders for region cn")
    );
    assert!(
        log_text(&server, run.id, "enrich")
            .await
            .contains("enriching 42 rows with customer data")
    );
    assert!(
        log_text(&server, run.id, "report")
            .await
            .contains("report for cn: 40 clean rows of 42")
    );
    // The report started only after both of its upstreams ended.
    let report_start = task(&run, "report").started_at.expect("report started");
    for upstream in ["clean", "enrich"] {
        assert!(task(&run, upstream).finished_at.expect("finished") <= report_start);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_override_defaults_and_every_task_sees_its_identity() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: ident
params: {who: world}
tasks:
  - name: show
    type: shell
    script: |
      echo "who={{ params.who }} job=$ORRERY_JOB task=$ORRERY_TASK attempt=$ORRERY_ATTEMPT run=$ORRERY_RUN_ID"
"#,
        )
        .await;
    let mut request = orrery_client::types::StartRunRequest::default();
    request.params.insert("who".into(), "orrery".into());
    let run = server
        .client
        .start_run("ident", &request)
        .await
        .expect("start");
    let run = wait_for_run_end(&server.client, run.id, Duration::from_secs(30)).await;
    assert_eq!(run.state, "success");
    let expected = format!("who=orrery job=ident task=show attempt=1 run={}", run.id);
    assert_eq!(log_text(&server, run.id, "show").await, expected);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_tasks_run_in_parallel() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Each task waits until the other one has started: they can only both finish
    // when they run at the same time.
    let spec = format!(
        r#"
name: parallel
tasks:
  - name: left
    type: shell
    timeout: 20s
    script: touch {d}/left; while [ ! -e {d}/right ]; do sleep 0.05; done
  - name: right
    type: shell
    timeout: 20s
    script: touch {d}/right; while [ ! -e {d}/left ]; do sleep 0.05; done
"#,
        d = dir.path().display()
    );
    server.apply(&spec).await;
    let run = server.run_to_end("parallel").await;
    assert_eq!(run.state, "success", "{run:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_fails_the_run_and_its_downstream_never_runs() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: breaks
tasks:
  - {name: a, type: shell, script: "echo before; exit 3"}
  - {name: b, type: noop, depends_on: [a]}
  - {name: c, type: shell, script: "echo unrelated"}
  - {name: d, type: noop, depends_on: [b]}
"#,
        )
        .await;
    let run = server.run_to_end("breaks").await;
    assert_eq!(run.state, "failed");
    assert_eq!(task(&run, "a").state, "failed");
    assert_eq!(task(&run, "a").exit_code, Some(3));
    assert_eq!(task(&run, "b").state, "upstream_failed");
    assert_eq!(task(&run, "d").state, "upstream_failed");
    assert_eq!(
        task(&run, "c").state,
        "success",
        "an unrelated branch still runs"
    );
    assert_eq!(task(&run, "b").started_at, None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_attempt_is_retried_as_a_new_attempt() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = format!(
        r#"
name: flaky
tasks:
  - name: flaky
    type: shell
    retries: 2
    retry_delay: 0s
    script: |
      n=$(cat {d}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/count
      echo "attempt $ORRERY_ATTEMPT"
      [ "$n" -ge 2 ]
"#,
        d = dir.path().display()
    );
    server.apply(&spec).await;
    let run = server.run_to_end("flaky").await;
    assert_eq!(run.state, "success", "{run:#?}");
    let attempts: Vec<(u32, &str)> = run
        .tasks
        .iter()
        .map(|t| (t.attempt, t.state.as_str()))
        .collect();
    assert_eq!(attempts, vec![(1, "failed"), (2, "success")]);
    let logs = server
        .client
        .logs(run.id, Some("flaky"), None)
        .await
        .expect("logs");
    let per_attempt: Vec<(u32, &str)> = logs.iter().map(|l| (l.attempt, l.text.as_str())).collect();
    assert_eq!(per_attempt, vec![(1, "attempt 1"), (2, "attempt 2")]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded() {
    let server = TestServer::start().await;
    server
        .apply("name: never\ntasks:\n  - {name: t, type: shell, script: 'exit 1', retries: 2, retry_delay: 0s}\n")
        .await;
    let run = server.run_to_end("never").await;
    assert_eq!(run.state, "failed");
    let states: Vec<&str> = run.tasks.iter().map(|t| t.state.as_str()).collect();
    assert_eq!(
        states,
        vec!["failed", "failed", "failed"],
        "1 try + 2 retries"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_whole_process_group() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let spec = format!(
        "name: slow\ntasks:\n  - name: t\n    type: shell\n    timeout: 1s\n    script: 'sleep 300 & echo $! > {}; sleep 300'\n",
        pid_file.display()
    );
    server.apply(&spec).await;
    let run = server.run_to_end("slow").await;
    assert_eq!(run.state, "failed");
    let t = task(&run, "t");
    assert_eq!(t.state, "timed_out");
    assert!(
        t.error.as_deref().unwrap_or("").contains("timed out"),
        "{t:?}"
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid number");
    eventually_async(
        "the grandchild to be killed",
        Duration::from_secs(10),
        || async { process_is_gone(pid).then_some(()) },
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_kills_its_processes_and_cancels_pending_tasks() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("grandchild.pid");
    let spec = format!(
        "name: long\ntasks:\n  - name: t\n    type: shell\n    script: 'sleep 300 & echo $! > {}; sleep 300'\n  - {{name: after, type: noop, depends_on: [t]}}\n",
        pid_file.display()
    );
    server.apply(&spec).await;
    let run = server
        .client
        .start_run("long", &Default::default())
        .await
        .expect("start");
    eventually_async("the task to start", Duration::from_secs(20), || async {
        let run = server.client.get_run(run.id).await.ok()?;
        (task(&run, "t").state == "running" && pid_file.exists()).then_some(())
    })
    .await;
    server.client.cancel_run(run.id).await.expect("cancel");
    let run = wait_for_run_end(&server.client, run.id, Duration::from_secs(20)).await;
    assert_eq!(run.state, "cancelled");
    assert_eq!(task(&run, "t").state, "cancelled");
    assert_eq!(task(&run, "after").state, "cancelled");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid number");
    eventually_async(
        "the grandchild to be killed",
        Duration::from_secs(10),
        || async { process_is_gone(pid).then_some(()) },
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_is_capped_with_a_marker() {
    let server = TestServer::start_with(|config| config.max_log_bytes = 64 * 1024).await;
    server
        .apply(
            r#"
name: noisy
tasks:
  - name: flood
    type: shell
    script: |
      yes "a line of output that repeats" | head -c 20000000
      head -c 10000000 /dev/zero | tr '\0' 'x'
"#,
        )
        .await;
    let run = server.run_to_end("noisy").await;
    assert_eq!(run.state, "success", "{run:#?}");
    let mut lines = Vec::new();
    let mut after = None;
    loop {
        let page = server
            .client
            .logs(run.id, Some("flood"), after)
            .await
            .expect("logs");
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        lines.extend(page);
    }
    let total: usize = lines.iter().map(|l| l.text.len()).sum();
    assert!(
        total < 2 * 64 * 1024 + 1024,
        "captured {total} bytes over a 64 KiB cap"
    );
    let last = lines.last().expect("some lines");
    assert_eq!(last.stream, "system");
    assert!(last.text.contains("log truncated"), "{last:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_can_be_followed_until_the_run_ends() {
    let server = TestServer::start().await;
    server
        .apply("name: ticker\ntasks:\n  - {name: t, type: shell, script: 'for i in 1 2 3; do echo tick $i; sleep 0.2; done'}\n")
        .await;
    let run = server
        .client
        .start_run("ticker", &Default::default())
        .await
        .expect("start");
    let mut texts = Vec::new();
    let mut end = None;
    server
        .client
        .follow_logs(run.id, None, |event| match event {
            orrery_client::LogStreamEvent::Line(line) => texts.push(line.text),
            orrery_client::LogStreamEvent::End { state } => end = Some(state),
        })
        .await
        .expect("follow");
    assert_eq!(texts, vec!["tick 1", "tick 2", "tick 3"]);
    assert_eq!(end.as_deref(), Some("success"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_jobs_runs_and_logs_and_continues_queued_work() {
    let server = TestServer::start_with(|config| config.worker_slots = 1).await;
    server
        .apply("name: keep\ntasks:\n  - {name: t, type: shell, script: 'echo kept'}\n")
        .await;
    let done = server.run_to_end("keep").await;
    let server = server.restart().await;
    let jobs = server.client.list_jobs().await.expect("jobs");
    assert_eq!(jobs.len(), 1);
    let again = server.client.get_run(done.id).await.expect("run survives");
    assert_eq!(again.state, "success");
    assert_eq!(log_text(&server, done.id, "t").await, "kept");
    let second = server.run_to_end("keep").await;
    assert_eq!(second.state, "success");
    assert!(second.id > done.id);
    server.stop().await;
}

/// The embedded worker's running count as `worker list` shows it.
async fn worker_running(server: &TestServer) -> Option<u32> {
    let workers = server.client.list_workers().await.ok()?;
    Some(workers.iter().map(|w| w.running).sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_attempts_give_their_worker_slots_back() {
    let server = TestServer::start_with(|config| config.worker_slots = 2).await;
    server
        .apply("name: sleepy\ntasks:\n  - {name: t, type: shell, script: sleep 60}\n")
        .await;
    server
        .apply("name: quick\ntasks:\n  - {name: t, type: shell, script: echo done}\n")
        .await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let run = server
            .client
            .start_run("sleepy", &Default::default())
            .await
            .expect("start");
        runs.push(run.id);
    }
    for id in &runs {
        eventually_async("the task to run", Duration::from_secs(20), || async {
            let run = server.client.get_run(*id).await.ok()?;
            (task(&run, "t").state == "running").then_some(())
        })
        .await;
    }
    eventually_async(
        "worker list to show both running",
        Duration::from_secs(20),
        || async { (worker_running(&server).await? == 2).then_some(()) },
    )
    .await;
    for id in &runs {
        server.client.cancel_run(*id).await.expect("cancel");
    }
    eventually_async(
        "worker list to show the slots free",
        Duration::from_secs(20),
        || async { (worker_running(&server).await? == 0).then_some(()) },
    )
    .await;
    // Both slots take work again: two runs at once, not one after the other.
    let first = server.run_to_end("quick").await;
    assert_eq!(first.state, "success");
    let mut again = Vec::new();
    for _ in 0..2 {
        let run = server
            .client
            .start_run("sleepy", &Default::default())
            .await
            .expect("start");
        again.push(run.id);
    }
    for id in &again {
        eventually_async(
            "both new attempts to run at once",
            Duration::from_secs(20),
            || async {
                let run = server.client.get_run(*id).await.ok()?;
                (task(&run, "t").state == "running").then_some(())
            },
        )
        .await;
        server.client.cancel_run(*id).await.expect("cancel");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_runs_do_not_fill_the_worker() {
    let server = TestServer::start_with(|config| config.worker_slots = 2).await;
    server
        .apply(
            "name: replacing\nschedule: {every: 1s, concurrency: replace}\ntasks:\n  - {name: t, type: shell, script: sleep 60}\n",
        )
        .await;
    // Each fire cancels the run before it; with two slots, a leaked slot per
    // replacement would leave the fourth run's task queued for good.
    let filter = orrery_client::RunFilter {
        job: Some("replacing".to_owned()),
        ..Default::default()
    };
    eventually_async(
        "a fifth run to have its task running",
        Duration::from_secs(30),
        || async {
            let page = server.client.list_runs(&filter).await.ok()?;
            let cancelled = page.items.iter().filter(|r| r.state == "cancelled").count();
            let newest = page.items.first()?;
            let newest = server.client.get_run(newest.id).await.ok()?;
            (cancelled >= 4 && task(&newest, "t").state == "running").then_some(())
        },
    )
    .await;
    server
        .client
        .set_paused("replacing", true)
        .await
        .expect("pause");
    let running = worker_running(&server).await.expect("workers");
    assert!(
        running <= 2,
        "worker list shows {running} running on 2 slots"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_template_fails_its_own_task_and_nothing_else() {
    let server = TestServer::start().await;
    let runaway = "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x{% endfor %}{% endfor %}{% endfor %}";
    server
        .apply(&format!(
            "name: runaway\ntasks:\n  - name: t\n    type: shell\n    script: \"echo {runaway}\"\n"
        ))
        .await;
    server
        .apply("name: quick\ntasks:\n  - {name: t, type: shell, script: echo done}\n")
        .await;
    let runaway_run = server
        .client
        .start_run("runaway", &Default::default())
        .await
        .expect("start");
    // The scheduler keeps working meanwhile: another job runs to its end.
    let quick = server.run_to_end("quick").await;
    assert_eq!(quick.state, "success");
    let run = wait_for_run_end(&server.client, runaway_run.id, Duration::from_secs(30)).await;
    assert_eq!(run.state, "failed");
    let error = task(&run, "t").error.clone().unwrap_or_default();
    assert!(
        error.contains("cannot render script") && error.contains("simplify its loops"),
        "{error}"
    );
    let ready = reqwest::get(format!("{}/readyz", server.server.url()))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_param_stays_text_when_quoted_or_read_from_the_environment() {
    let server = TestServer::start().await;
    let unsafe_spec = "name: unsafe\nparams: {who: world}\ntasks:\n  - name: t\n    type: shell\n    script: 'echo \"{{ params.who }}\"'\n";
    let applied = server
        .client
        .apply(unsafe_spec, "yaml")
        .await
        .expect("an unsafe spec is applied, with a warning");
    assert_eq!(applied.warnings.len(), 1, "{applied:?}");
    assert_eq!(applied.warnings[0].path, "tasks[0].script");
    assert!(applied.warnings[0].message.contains("shell_quote"));

    let safe_spec = "name: safe\nparams: {who: world}\ntasks:\n  - name: t\n    type: shell\n    script: |\n      echo quoted={{ params.who | shell_quote }}\n      echo env=\"$ORRERY_PARAM_WHO\"\n";
    let applied = server.client.apply(safe_spec, "yaml").await.expect("apply");
    assert!(applied.warnings.is_empty(), "{applied:?}");
    let hostile = "x\"; echo INJECTED; echo '";
    let mut request = orrery_client::types::StartRunRequest::default();
    request.params.insert("who".into(), hostile.into());
    let run = server
        .client
        .start_run("safe", &request)
        .await
        .expect("start");
    let run = wait_for_run_end(&server.client, run.id, Duration::from_secs(20)).await;
    assert_eq!(run.state, "success");
    let log = log_text(&server, run.id, "t").await;
    assert!(log.contains(&format!("quoted={hostile}")), "{log}");
    assert!(log.contains(&format!("env={hostile}")), "{log}");
    assert!(!log.lines().any(|line| line == "INJECTED"), "{log}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_waiting_for_a_worker_says_why() {
    let server = TestServer::start_with(|config| config.worker_slots = 1).await;
    server
        .apply("name: sleepy\ntasks:\n  - {name: t, type: shell, script: sleep 30}\n")
        .await;
    let first = server
        .client
        .start_run("sleepy", &Default::default())
        .await
        .expect("start");
    let second = server
        .client
        .start_run("sleepy", &Default::default())
        .await
        .expect("start");
    let busy = "waiting for a free slot: the one worker that can run it is busy";
    eventually_async(
        "the second task to say why it waits",
        Duration::from_secs(20),
        || async {
            let run = server.client.get_run(second.id).await.ok()?;
            (task(&run, "t").waiting_reason.as_deref() == Some(busy)).then_some(())
        },
    )
    .await;
    for id in [first.id, second.id] {
        server.client.cancel_run(id).await.expect("cancel");
    }
    server.stop().await;

    // A server without a worker: the task says none is connected.
    let server = TestServer::start_with(|config| {
        config.roles = orrery::config::Roles {
            api: true,
            scheduler: true,
            worker: false,
        };
    })
    .await;
    server
        .apply("name: alone\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    let run = server
        .client
        .start_run("alone", &Default::default())
        .await
        .expect("start");
    let reason = eventually_async(
        "the task to say why it waits",
        Duration::from_secs(20),
        || async {
            let run = server.client.get_run(run.id).await.ok()?;
            task(&run, "t").waiting_reason.clone()
        },
    )
    .await;
    assert_eq!(reason, "no worker in group \"default\" is connected");
    server.stop().await;
}
