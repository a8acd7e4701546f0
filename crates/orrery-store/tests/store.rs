//! The store's contract: every check runs on a fresh SQLite database and on a fresh
//! PostgreSQL database (`backend_tests!`); both backends must pass the same checks.

use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_core::state::{RunState, TaskState};
use orrery_store::records::NewLogLine;
use orrery_store::test_support::{TestBackend, TestStore};
use orrery_store::{
    ApplyOutcome, JobApply, LogOwner, NewRun, RunListFilter, RunUpdate, Store, StoreError,
    backend_tests,
};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

async fn apply(
    store: &Store,
    project: &str,
    name: &str,
    canonical_spec: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<ApplyOutcome, StoreError> {
    let apply = JobApply {
        project,
        name,
        canonical_spec,
        paused: None,
        actor,
        now,
    };
    store.apply_job(&apply).await
}

async fn new_run(
    store: &Store,
    job: &str,
    logical_date: Option<DateTime<Utc>>,
) -> Result<RunId, StoreError> {
    // A run with a logical date stands for a scheduled fire; one without is manual.
    let trigger = if logical_date.is_some() {
        orrery_core::state::RunTrigger::Schedule
    } else {
        orrery_core::state::RunTrigger::Manual
    };
    let job = store.find_job("default", job).await?.expect("job exists");
    let params = serde_json::Map::new();
    let names = vec!["a".to_owned(), "b".to_owned()];
    store
        .create_run(&NewRun {
            job_id: job.id,
            job_version: job.latest_version,
            trigger,
            params: &params,
            logical_date,
            schedule: Default::default(),
            task_names: &names,
            actor: "test",
            now: at(10),
            request: None,
            project: None,
        })
        .await
}

backend_tests!(
    apply_creates_then_versions_only_on_change,
    deleting_a_job_keeps_its_runs_and_frees_its_name,
    a_run_is_created_queued_with_a_pending_attempt_per_task,
    a_second_run_for_the_same_logical_date_is_a_conflict,
    commit_changes_updates_attempts_inserts_retries_and_moves_runs,
    logs_read_back_in_order_by_task_and_after_a_cursor,
    runs_list_newest_first_with_filters_and_cancel_is_recorded,
    tokens_are_found_by_secret_and_stored_hashed,
    data_survives_reopening,
    a_run_with_ten_thousand_tasks_is_created_whole,
);

async fn apply_creates_then_versions_only_on_change(test: TestStore) {
    let store = &test.store;
    let first = apply(store, "default", "j", "{\"v\":1}", "alice", at(0))
        .await
        .expect("apply");
    let job_id = match first {
        ApplyOutcome::Created { job_id } => job_id,
        other => panic!("expected created, got {other:?}"),
    };
    let same = apply(store, "default", "j", "{\"v\":1}", "alice", at(1))
        .await
        .expect("apply");
    assert_eq!(same, ApplyOutcome::Unchanged { job_id, version: 1 });
    let changed = apply(store, "default", "j", "{\"v\":2}", "bob", at(2))
        .await
        .expect("apply");
    assert_eq!(changed, ApplyOutcome::Updated { job_id, version: 2 });
    let versions = store.job_versions(job_id).await.expect("versions");
    let summary: Vec<(u32, &str, &str)> = versions
        .iter()
        .map(|v| (v.version, v.spec.as_str(), v.created_by.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![(2, "{\"v\":2}", "bob"), (1, "{\"v\":1}", "alice")]
    );
    // Same name in another project is another job.
    let other = apply(store, "other", "j", "{\"v\":1}", "alice", at(3))
        .await
        .expect("apply");
    assert!(matches!(other, ApplyOutcome::Created { .. }));
    assert_eq!(store.list_jobs().await.expect("list").len(), 2);
    let audit = store.list_audit(10).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["job.create", "job.update", "job.create"]);
    assert_eq!(
        (audit[1].before_version, audit[1].after_version),
        (Some(1), Some(2))
    );
}

async fn deleting_a_job_keeps_its_runs_and_frees_its_name(test: TestStore) {
    let store = &test.store;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    let run = new_run(store, "j", None).await.expect("run");
    assert!(
        store
            .delete_job("default", "j", "t", at(1))
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_job("default", "j", "t", at(2))
            .await
            .expect("delete again")
    );
    assert!(
        store
            .find_job("default", "j")
            .await
            .expect("find")
            .is_none()
    );
    let kept = store.get_run(run).await.expect("get").expect("run kept");
    assert_eq!(kept.job_name, "j");
    let again = apply(store, "default", "j", "{}", "t", at(3))
        .await
        .expect("re-create");
    assert!(matches!(again, ApplyOutcome::Created { .. }));
}

async fn a_run_is_created_queued_with_a_pending_attempt_per_task(test: TestStore) {
    let store = &test.store;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    let id = new_run(store, "j", None).await.expect("run");
    let run = store.get_run(id).await.expect("get").expect("exists");
    assert_eq!(
        (run.state, run.job_version, run.trigger.as_str()),
        (RunState::Queued, 1, "manual")
    );
    let tasks = store.run_tasks(id).await.expect("tasks");
    let shape: Vec<(&str, u32, u32, TaskState)> = tasks
        .iter()
        .map(|t| (t.task_name.as_str(), t.task_idx, t.attempt, t.state))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("a", 0, 1, TaskState::Pending),
            ("b", 1, 1, TaskState::Pending)
        ]
    );
    assert_eq!(store.active_runs().await.expect("active").len(), 1);
}

async fn a_second_run_for_the_same_logical_date_is_a_conflict(test: TestStore) {
    let store = &test.store;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    new_run(store, "j", Some(at(100))).await.expect("first");
    let second = new_run(store, "j", Some(at(100))).await;
    assert!(
        matches!(second, Err(StoreError::Conflict { .. })),
        "{second:?}"
    );
    // Manual runs have no logical date and never conflict.
    new_run(store, "j", None).await.expect("manual");
    new_run(store, "j", None).await.expect("manual");
}

async fn commit_changes_updates_attempts_inserts_retries_and_moves_runs(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    let id = new_run(store, "j", None).await.expect("run");
    let mut tasks = store.run_tasks(id).await.expect("tasks");
    tasks[0].state = TaskState::Failed;
    tasks[0].exit_code = Some(2);
    tasks[0].outputs.insert("k".into(), "v".into());
    let mut retry = orrery_store::records::TaskRecord::pending(id, "a", 0);
    retry.attempt = 2;
    retry.state = TaskState::RetryWait;
    retry.retry_at = Some(at(50));
    let mut changes = vec![tasks[0].clone(), retry];
    let update = RunUpdate {
        id,
        state: RunState::Running,
        started_at: Some(at(11)),
        finished_at: None,
    };
    leader
        .commit_changes(&mut changes, &[update], &[])
        .await
        .expect("commit");
    assert!(changes[1].id.is_some(), "inserted attempts get their id");
    let stored = store.run_tasks(id).await.expect("tasks");
    let shape: Vec<(&str, u32, TaskState)> = stored
        .iter()
        .map(|t| (t.task_name.as_str(), t.attempt, t.state))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("a", 1, TaskState::Failed),
            ("a", 2, TaskState::RetryWait),
            ("b", 1, TaskState::Pending)
        ]
    );
    assert_eq!(stored[0].exit_code, Some(2));
    assert_eq!(stored[0].outputs.get("k").map(String::as_str), Some("v"));
    assert_eq!(stored[1].retry_at, Some(at(50)));
    let run = store.get_run(id).await.expect("get").expect("exists");
    assert_eq!(
        (run.state, run.started_at),
        (RunState::Running, Some(at(11)))
    );
}

async fn logs_read_back_in_order_by_task_and_after_a_cursor(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    let id = new_run(store, "j", None).await.expect("run");
    let tasks = store.run_tasks(id).await.expect("tasks");
    for (task, n) in [(&tasks[0], 3), (&tasks[1], 2)] {
        let lines: Vec<NewLogLine> = (0..n)
            .map(|i| NewLogLine {
                at: at(i),
                stream: "stdout",
                text: format!("{} line {i}", task.task_name),
            })
            .collect();
        let owner = LogOwner {
            run_id: id,
            task_instance_id: task.id.expect("id"),
            task_name: &task.task_name,
            attempt: 1,
        };
        leader.append_logs(owner, &lines).await.expect("append");
    }
    let all = store.read_logs(id, None, 0, 100).await.expect("read");
    assert_eq!(all.len(), 5);
    let b: Vec<String> = store
        .read_logs(id, Some("b"), 0, 100)
        .await
        .expect("read")
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(b, vec!["b line 0", "b line 1"]);
    let rest = store
        .read_logs(id, None, all[2].seq, 100)
        .await
        .expect("read");
    assert_eq!(rest.len(), 2);
    let page = store.read_logs(id, None, 0, 2).await.expect("read");
    assert_eq!(page.len(), 2);
}

async fn runs_list_newest_first_with_filters_and_cancel_is_recorded(test: TestStore) {
    let store = &test.store;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    apply(store, "default", "k", "{}", "t", at(0))
        .await
        .expect("apply");
    let r1 = new_run(store, "j", None).await.expect("run");
    let r2 = new_run(store, "k", None).await.expect("run");
    let r3 = new_run(store, "j", None).await.expect("run");
    let all = store
        .list_runs(&RunListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r3, r2, r1]
    );
    let j_only = store
        .list_runs(&RunListFilter {
            job: Some("j".into()),
            before_id: Some(r3),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(j_only.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r1]);
    let cancelled = store
        .request_cancel(r1, "alice", at(20))
        .await
        .expect("cancel")
        .expect("run");
    assert!(cancelled.cancel_requested);
    assert!(
        store
            .request_cancel(RunId(999), "alice", at(20))
            .await
            .expect("cancel")
            .is_none()
    );
    let audit = store.list_audit(1).await.expect("audit");
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str()),
        ("run.cancel", "alice")
    );
}

async fn tokens_are_found_by_secret_and_stored_hashed(test: TestStore) {
    let store = &test.store;
    store
        .create_token("admin", "admin", "s3cret-value", at(0))
        .await
        .expect("create");
    let found = store
        .find_token("s3cret-value")
        .await
        .expect("find")
        .expect("token");
    assert_eq!(
        (found.name.as_str(), found.kind.as_str()),
        ("admin", "admin")
    );
    assert!(store.find_token("other").await.expect("find").is_none());
    store.close().await;
    let sql = "SELECT secret_sha256 FROM api_tokens";
    let stored: Vec<String> = match test.backend() {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&test.url())
                .await
                .expect("raw connect");
            sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("raw read")
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&test.url())
                .await
                .expect("raw connect");
            sqlx::query_scalar(sql)
                .fetch_all(&pool)
                .await
                .expect("raw read")
        }
    };
    assert_eq!(stored, vec![orrery_store::hash_secret("s3cret-value")]);
    if let Some(file) = test.sqlite_file() {
        let raw = std::fs::read(file).expect("db file");
        let needle = b"s3cret-value";
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "secret stored in clear"
        );
    }
}

async fn data_survives_reopening(test: TestStore) {
    let store = &test.store;
    apply(store, "default", "j", "{}", "t", at(0))
        .await
        .expect("apply");
    let id = new_run(store, "j", None).await.expect("run");
    store.close().await;
    let store = test.reopen().await.expect("reopen");
    assert!(store.get_run(id).await.expect("get").is_some());
    assert_eq!(store.list_jobs().await.expect("jobs").len(), 1);
    store.close().await;
}

async fn a_run_with_ten_thousand_tasks_is_created_whole(test: TestStore) {
    let store = &test.store;
    apply(store, "default", "wide", "{}", "t", at(0))
        .await
        .expect("apply");
    let job = store
        .find_job("default", "wide")
        .await
        .expect("find")
        .expect("job");
    let names: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
    let params = serde_json::Map::new();
    let id = store
        .create_run(&NewRun {
            job_id: job.id,
            job_version: 1,
            trigger: orrery_core::state::RunTrigger::Manual,
            params: &params,
            logical_date: None,
            schedule: Default::default(),
            task_names: &names,
            actor: "test",
            now: at(1),
            request: None,
            project: None,
        })
        .await
        .expect("a wide run is created");
    let tasks = store.run_tasks(id).await.expect("tasks");
    assert_eq!(tasks.len(), 10_000);
    assert_eq!(
        (tasks[9_999].task_name.as_str(), tasks[9_999].task_idx),
        ("t9999", 9_999)
    );
}
