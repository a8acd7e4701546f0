//! The store's contract for reruns and reopened runs on both backends, and the
//! single-row reads beside them.

mod common;

use common::{at, create_run, job, names};
use orrery_core::ids::{JobId, TaskInstanceId};
use orrery_core::state::{RunState, TaskState};
use orrery_store::test_support::TestStore;
use orrery_store::{
    KeptTask, NewRun, RunSchedule, RunUpdate, StoreError, TaskReset, backend_tests,
};

backend_tests!(
    a_rerun_keeps_the_succeeded_tasks_and_links_to_its_original,
    reopening_an_ended_run_adds_attempts_and_queues_it_again,
    single_reads_find_what_exists_and_nothing_else,
    the_scheduler_reads_only_new_runs_cancels_and_reopenings,
);

async fn a_rerun_keeps_the_succeeded_tasks_and_links_to_its_original(test: TestStore) {
    let store = &test.store;
    let job = job(store, "j", "{}").await;
    let names = names(2);
    let original = create_run(store, &job, &names, Some(at(100))).await;
    let params: serde_json::Map<_, _> = [("who".to_owned(), serde_json::json!("x"))]
        .into_iter()
        .collect();
    let kept = KeptTask {
        task_name: "a".to_owned(),
        outputs: [("k".to_owned(), "v".to_owned())].into(),
        exit_code: Some(0),
    };
    let rerun = store
        .create_rerun(
            &NewRun {
                job_id: job.id,
                job_version: 1,
                trigger: orrery_core::state::RunTrigger::Rerun,
                params: &params,
                logical_date: Some(at(100)),
                schedule: RunSchedule {
                    rerun_of: Some(original),
                    ..RunSchedule::default()
                },
                task_names: &names,
                actor: "alice",
                now: at(500),
                request: None,
                project: None,
            },
            &[kept],
        )
        .await
        .expect("rerun beside the original, same logical date");
    let run = store.get_run(rerun).await.expect("get").expect("run");
    assert_eq!(
        (run.rerun_of, run.params.get("who")),
        (Some(original), Some(&serde_json::json!("x")))
    );
    let tasks = store.run_tasks(rerun).await.expect("tasks");
    assert_eq!(
        (tasks[0].state, tasks[1].state),
        (TaskState::Success, TaskState::Pending)
    );
    assert_eq!(tasks[0].outputs.get("k").map(String::as_str), Some("v"));
    assert_eq!(tasks[0].exit_code, Some(0));
    assert_eq!(tasks[0].error, Some(format!("kept from run {original}")));
    assert_eq!(
        (tasks[0].started_at, tasks[0].finished_at),
        (Some(at(500)), Some(at(500)))
    );
}

async fn reopening_an_ended_run_adds_attempts_and_queues_it_again(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "j", "{}").await;
    let id = create_run(store, &job, &names(2), None).await;
    let reset = |task: &str, state: &'static str| TaskReset {
        task_name: task.to_owned(),
        state,
        note: (state != "pending").then(|| "marked by alice".to_owned()),
    };
    let refused = store
        .reopen_run(id, &[reset("a", "pending")], "task.retry", "alice", at(10))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );

    store
        .request_cancel(id, "alice", at(11))
        .await
        .expect("cancel");
    let ended = RunUpdate {
        id,
        state: RunState::Cancelled,
        started_at: Some(at(12)),
        finished_at: Some(at(13)),
    };
    leader
        .commit_changes(&mut [], &[ended], &[])
        .await
        .expect("end");
    store
        .reopen_run(
            id,
            &[reset("a", "pending"), reset("b", "success")],
            "task.retry",
            "alice",
            at(20),
        )
        .await
        .expect("reopen");
    let run = store.get_run(id).await.expect("get").expect("run");
    assert_eq!(
        (
            run.state,
            run.cancel_requested,
            run.started_at,
            run.finished_at
        ),
        (RunState::Queued, false, None, None)
    );
    let tasks = store.run_tasks(id).await.expect("tasks");
    let shape: Vec<_> = tasks
        .iter()
        .map(|t| {
            (
                t.task_name.as_str(),
                t.task_idx,
                t.attempt,
                t.state,
                t.finished_at,
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            ("a", 0, 1, TaskState::Pending, None),
            ("a", 0, 2, TaskState::Pending, None),
            ("b", 1, 1, TaskState::Pending, None),
            ("b", 1, 2, TaskState::Success, Some(at(20))),
        ]
    );
    assert_eq!(tasks[3].error.as_deref(), Some("marked by alice"));
    assert_eq!(
        store.list_audit(1).await.expect("audit")[0].action,
        "task.retry"
    );

    leader
        .commit_changes(&mut [], &[ended_again(id)], &[])
        .await
        .expect("end");
    let missing = store
        .reopen_run(id, &[reset("zz", "pending")], "task.retry", "alice", at(30))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { kind: "task", .. })),
        "{missing:?}"
    );
    // The failed reopen wrote nothing: the run is still ended.
    let run = store.get_run(id).await.expect("get").expect("run");
    assert_eq!(run.state, RunState::Failed);
}

async fn single_reads_find_what_exists_and_nothing_else(test: TestStore) {
    let store = &test.store;
    let job = job(store, "j", "{\"v\":1}").await;
    let id = create_run(store, &job, &names(1), None).await;
    let task = store.run_tasks(id).await.expect("tasks").remove(0);
    let read = store
        .task_instance(task.id.expect("stored"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read, task);
    assert!(
        store
            .task_instance(TaskInstanceId(9_999))
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(
        store.job_version_spec(job.id, 1).await.expect("spec"),
        "{\"v\":1}"
    );
    assert!(matches!(
        store.job_version_spec(job.id, 2).await,
        Err(StoreError::NotFound {
            kind: "job version",
            ..
        })
    ));
    assert!(matches!(
        store.job_version_spec(JobId(9_999), 1).await,
        Err(StoreError::NotFound { .. })
    ));
    let token = store
        .api_intents()
        .create_token(
            &orrery_store::NewToken {
                name: "ci",
                kind: "api",
                secret: "ci-secret",
                user_id: None,
                project: Some("default"),
                role: Some("editor"),
                expires_at: None,
            },
            "alice",
            at(3),
        )
        .await
        .expect("token");
    assert_eq!(
        store.find_token("ci-secret").await.expect("find"),
        Some(token)
    );
    let audit = store.list_audit(1).await.expect("audit");
    assert_eq!(
        (
            audit[0].action.as_str(),
            audit[0].resource.as_str(),
            audit[0].actor.as_str(),
            audit[0].at
        ),
        ("token.create", "token/ci", "alice", at(3))
    );
}

fn ended_again(id: orrery_core::ids::RunId) -> RunUpdate {
    RunUpdate {
        id,
        state: RunState::Failed,
        started_at: Some(at(21)),
        finished_at: Some(at(22)),
    }
}

/// What the scheduler's cheap poll sees: active runs created after the ones it saw,
/// active runs whose cancel was requested, and a count that moves when an ended run is
/// reopened (it is older than anything the cheap read looks at).
async fn the_scheduler_reads_only_new_runs_cancels_and_reopenings(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "j", "{}").await;
    let ids_after = |after: orrery_core::ids::RunId| async move {
        store
            .active_runs_after(after)
            .await
            .expect("read")
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    let first = create_run(store, &job, &names(1), None).await;
    let second = create_run(store, &job, &names(1), None).await;
    assert_eq!(ids_after(first).await, vec![second]);
    assert_eq!(ids_after(second).await, vec![]);
    store
        .request_cancel(first, "alice", at(11))
        .await
        .expect("cancel");
    let third = create_run(store, &job, &names(1), None).await;
    assert_eq!(ids_after(second).await, vec![first, third]);
    // The cancelled run that ends is no longer read; reopening it moves the count.
    let reopened_before = store.runs_reopened_count().await.expect("count");
    let ended = RunUpdate {
        id: first,
        state: RunState::Cancelled,
        started_at: Some(at(12)),
        finished_at: Some(at(13)),
    };
    leader
        .commit_changes(&mut [], &[ended], &[])
        .await
        .expect("end");
    assert_eq!(ids_after(second).await, vec![third]);
    assert_eq!(
        store.runs_reopened_count().await.expect("count"),
        reopened_before,
        "ending a run is not a reopening"
    );
    let reset = TaskReset {
        task_name: names(1)[0].clone(),
        state: "pending",
        note: None,
    };
    store
        .reopen_run(first, &[reset], "task.retry", "alice", at(20))
        .await
        .expect("reopen");
    assert_ne!(
        store.runs_reopened_count().await.expect("count"),
        reopened_before
    );
    assert_eq!(
        ids_after(third).await,
        vec![],
        "older than the cheap read looks"
    );
}
