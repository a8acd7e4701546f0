//! Dynamic fan-out (`for_each`): mapped instances `name[i]` with `item` and `index`,
//! paced by `max_parallel`, joined by their downstream, cancelled as a whole.

use orrery_client::types::Run;
use orrery_testkit::{TestServer, eventually_async, wait_for_run_end};
use std::time::Duration;

fn mapped<'a>(run: &'a Run, name: &str) -> Vec<&'a orrery_client::types::TaskInstance> {
    let prefix = format!("{name}[");
    run.tasks
        .iter()
        .filter(|t| t.task.starts_with(&prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_items_with_max_parallel_eight() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: fan
tasks:
  - name: list
    type: shell
    script: echo "files=$(seq -s, 0 199)" >> "$ORRERY_OUTPUT"
  - name: process
    type: shell
    depends_on: [list]
    for_each: "{{ tasks.list.outputs.files | split(',') }}"
    max_parallel: 8
    script: 'echo "file {{ item }} at {{ index }}"; sleep 0.02'
  - name: done
    type: shell
    depends_on: [process]
    script: echo "all {{ tasks.process.outputs.count }} processed"
"#,
        )
        .await;
    let run = server.run_to_end("fan").await;
    assert_eq!(
        run.state,
        "success",
        "{:?}",
        run.tasks
            .iter()
            .filter(|t| t.state != "success")
            .collect::<Vec<_>>()
    );
    let instances = mapped(&run, "process");
    assert_eq!(instances.len(), 200);
    assert!(instances.iter().all(|t| t.state == "success"));
    let spans: Vec<_> = instances
        .iter()
        .map(|t| {
            (
                t.started_at.expect("started"),
                t.finished_at.expect("finished"),
            )
        })
        .collect();
    let most = spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, f)| s <= start && start < f)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(most <= 8, "{most} instances ran at once");
    let logs = server
        .client
        .logs(run.id, Some("process[17]"), None)
        .await
        .expect("logs");
    assert_eq!(logs[0].text, "file 17 at 17");
    let done = server
        .client
        .logs(run.id, Some("done"), None)
        .await
        .expect("logs");
    assert_eq!(done[0].text, "all 200 processed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_instance_fails_the_fan_out_after_the_others_ran() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: fan-fail
tasks:
  - name: each
    type: shell
    for_each: [1, 2, 3, 4]
    script: '[ "{{ item }}" != 3 ]'
  - {name: after, type: noop, depends_on: [each]}
"#,
        )
        .await;
    let run = server.run_to_end("fan-fail").await;
    assert_eq!(run.state, "failed");
    let parent = run
        .tasks
        .iter()
        .find(|t| t.task == "each")
        .expect("fan-out record");
    assert_eq!(parent.state, "failed");
    assert!(
        parent.error.as_deref().unwrap_or("").contains("1 of 4"),
        "{parent:?}"
    );
    let states: Vec<&str> = mapped(&run, "each")
        .iter()
        .map(|t| t.state.as_str())
        .collect();
    assert_eq!(states, vec!["success", "success", "failed", "success"]);
    assert_eq!(
        run.tasks
            .iter()
            .find(|t| t.task == "after")
            .map(|t| t.state.as_str()),
        Some("upstream_failed")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn for_each_over_a_non_list_fails_the_task_clearly() {
    let server = TestServer::start().await;
    server
        .apply("name: fan-bad\nparams: {n: 5}\ntasks:\n  - {name: each, type: noop, for_each: '{{ params.n }}'}\n")
        .await;
    let run = server.run_to_end("fan-bad").await;
    assert_eq!(run.state, "failed");
    let task = &run.tasks[0];
    assert!(
        task.error
            .as_deref()
            .unwrap_or("")
            .contains("must give a list"),
        "{task:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_during_a_fan_out_leaves_no_process_alive() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    server
        .apply(&format!(
            "name: fan-long\ntasks:\n  - name: each\n    type: shell\n    for_each: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n    max_parallel: 4\n    script: 'echo $$ > {d}/pid-{{{{ index }}}}; sleep 300'\n",
            d = dir.path().display()
        ))
        .await;
    let run = server
        .client
        .start_run("fan-long", &Default::default())
        .await
        .expect("start");
    eventually_async("4 instances to run", Duration::from_secs(20), || async {
        let count = std::fs::read_dir(dir.path()).ok()?.count();
        (count >= 4).then_some(())
    })
    .await;
    server.client.cancel_run(run.id).await.expect("cancel");
    let run = wait_for_run_end(&server.client, run.id, Duration::from_secs(20)).await;
    assert_eq!(run.state, "cancelled");
    assert!(
        mapped(&run, "each").iter().all(|t| t.state == "cancelled"),
        "{run:#?}"
    );
    let pids: Vec<i32> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| {
            std::fs::read_to_string(e.ok()?.path())
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    assert!(pids.len() <= 4, "max_parallel held: {pids:?}");
    for pid in pids {
        eventually_async(
            &format!("process {pid} to be gone"),
            Duration::from_secs(10),
            || async move {
                let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                    == Err(nix::errno::Errno::ESRCH)
                    || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|s| s.contains(") Z "));
                gone.then_some(())
            },
        )
        .await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downstream_tasks_read_each_mapped_instance_s_outputs_in_index_order() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: fan-outputs
tasks:
  - name: process
    type: shell
    for_each: [3, 1, 2]
    script: 'sleep 0.0{{ item }}; echo "out=item{{ item }}" >> "$ORRERY_OUTPUT"'
  - name: collect
    type: shell
    depends_on: [process]
    script: echo "{{ tasks.process.outputs_list | map(attribute='out') | join(',') }}"
"#,
        )
        .await;
    let run = server.run_to_end("fan-outputs").await;
    assert_eq!(run.state, "success");
    let logs = server
        .client
        .logs(run.id, Some("collect"), None)
        .await
        .expect("logs");
    assert_eq!(logs[0].text, "item3,item1,item2");
    server.stop().await;
}
