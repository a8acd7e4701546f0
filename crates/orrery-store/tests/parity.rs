//! Where SQLite and PostgreSQL differ by default and the store makes them agree: NULL
//! and text ordering, NUL characters, integer ranges, time precision, and writers
//! that read before they write.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{at, create_run, job, names};
use orrery_core::state::TaskState;
use orrery_store::records::{NewLogLine, TaskRecord};
use orrery_store::test_support::TestStore;
use orrery_store::{ApplyOutcome, JobApply, LogOwner, backend_tests};

backend_tests!(
    a_fan_outs_own_row_lists_before_its_mapped_instances,
    nul_characters_in_log_lines_are_stored_as_replacement_characters,
    names_list_in_byte_order,
    extreme_integers_round_trip,
    times_keep_their_microseconds,
    concurrent_applies_of_a_new_job_create_it_once,
);

async fn a_fan_outs_own_row_lists_before_its_mapped_instances(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "fan", "{}").await;
    let id = create_run(store, &job, &names(2), None).await;
    let mut mapped: Vec<TaskRecord> = [1, 0]
        .into_iter()
        .map(|index| {
            let mut task = TaskRecord::pending(id, &format!("a[{index}]"), 0);
            task.map_index = Some(index);
            task.state = TaskState::Queued;
            task
        })
        .collect();
    leader
        .commit_changes(&mut mapped, &[], &[])
        .await
        .expect("commit");
    let tasks = store.run_tasks(id).await.expect("tasks");
    let order: Vec<(&str, u32, Option<u32>)> = tasks
        .iter()
        .map(|t| (t.task_name.as_str(), t.task_idx, t.map_index))
        .collect();
    assert_eq!(
        order,
        vec![
            ("a", 0, None),
            ("a[0]", 0, Some(0)),
            ("a[1]", 0, Some(1)),
            ("b", 1, None)
        ]
    );
}

async fn nul_characters_in_log_lines_are_stored_as_replacement_characters(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "j", "{}").await;
    let id = create_run(store, &job, &names(1), None).await;
    let task = store.run_tasks(id).await.expect("tasks").remove(0);
    let owner = LogOwner {
        run_id: id,
        task_instance_id: task.id.expect("stored"),
        task_name: "a",
        attempt: 1,
    };
    let line = |text: &str| NewLogLine {
        at: at(0),
        stream: "stdout",
        text: text.to_owned(),
    };
    leader
        .append_logs(owner, &[line("bin\0ary\0"), line("plain ünïcode")])
        .await
        .expect("append");
    let texts: Vec<String> = store
        .read_logs(id, Some("a"), 0, 10)
        .await
        .expect("read")
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(texts, vec!["bin\u{FFFD}ary\u{FFFD}", "plain ünïcode"]);
}

async fn names_list_in_byte_order(test: TestStore) {
    let store = &test.store;
    for name in ["b", "B", "a", "_x", "é"] {
        job(store, name, "{}").await;
    }
    let listed: Vec<String> = store
        .list_jobs()
        .await
        .expect("list")
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(listed, vec!["B", "_x", "a", "b", "é"]);
}

async fn extreme_integers_round_trip(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "j", "{}").await;
    let id = create_run(store, &job, &names(1), None).await;
    let mut task = store.run_tasks(id).await.expect("tasks").remove(0);
    task.fence = i64::MAX as u64;
    task.exit_code = Some(-9);
    task.cpu_time_ms = Some(u64::from(u32::MAX) * 3);
    task.peak_memory_bytes = Some(1 << 40);
    let mut retry = TaskRecord::pending(id, "a", u32::MAX);
    retry.attempt = u32::MAX;
    retry.map_index = Some(u32::MAX - 1);
    retry.exit_code = Some(i32::MIN);
    let mut changes = vec![task.clone(), retry.clone()];
    leader
        .commit_changes(&mut changes, &[], &[])
        .await
        .expect("commit");
    retry.id = changes[1].id;
    let stored = store.run_tasks(id).await.expect("tasks");
    assert_eq!(stored, vec![task, retry]);
}

async fn times_keep_their_microseconds(test: TestStore) {
    let store = &test.store;
    let job = job(store, "j", "{}").await;
    // PostgreSQL keeps microseconds; finer instants would come back truncated there.
    let logical: DateTime<Utc> = at(100) + TimeDelta::microseconds(123_456);
    let id = create_run(store, &job, &names(1), Some(logical)).await;
    let run = store.get_run(id).await.expect("get").expect("run");
    assert_eq!(run.logical_date, Some(logical));
    let conflict = create_run_result(store, &job, logical).await;
    assert!(conflict.is_err(), "the same instant is the same fire");
    let later = create_run_result(store, &job, logical + TimeDelta::microseconds(1)).await;
    assert!(later.is_ok(), "{later:?}");
}

async fn create_run_result(
    store: &orrery_store::Store,
    job: &orrery_store::records::JobRecord,
    logical: DateTime<Utc>,
) -> Result<orrery_core::ids::RunId, orrery_store::StoreError> {
    let params = serde_json::Map::new();
    let names = names(1);
    store
        .create_run(&common::run_of(job, &names, &params, Some(logical)))
        .await
}

async fn concurrent_applies_of_a_new_job_create_it_once(test: TestStore) {
    // Writers read then write; the store runs them one at a time on both backends, so
    // the losers see the job the winner created instead of hitting its unique index.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = test.store.clone();
        tasks.spawn(async move {
            store
                .apply_job(&JobApply {
                    project: "default",
                    name: "raced",
                    canonical_spec: "{}",
                    paused: None,
                    actor: "test",
                    now: at(0),
                })
                .await
        });
    }
    let mut created = 0;
    let mut unchanged = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.expect("task").expect("apply") {
            ApplyOutcome::Created { .. } => created += 1,
            ApplyOutcome::Unchanged { version: 1, .. } => unchanged += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, unchanged), (1, 7));
}
