//! Runs: deadlines, cancel cascading to child runs, concurrency when runs wait.

use super::harness::{Harness, assignments, cancels};
use chrono::Duration;
use orrery_core::state::{RunState, TaskState};
use orrery_proto::TaskOutcome;

#[test]
fn a_run_past_its_timeout_fails_and_its_running_task_is_cancelled_on_its_worker() {
    let mut h = Harness::new();
    h.job("name: slow\ntimeout: 1m\ntasks:\n  - {name: work, type: shell, script: sleep 600}\n");
    let worker = h.worker("w1", 1);
    let run = h.start("slow");
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 1);
    let task = sent[0].1.task;

    h.advance_clock(Duration::seconds(59));
    assert!(cancels(&h.settle()).is_empty(), "not before the deadline");
    assert_eq!(h.run_state(run), Some(RunState::Running));

    h.advance_clock(Duration::seconds(1));
    let sent = h.settle();
    assert_eq!(
        cancels(&sent),
        vec![(worker, task)],
        "the worker is told to stop it"
    );
    assert_eq!(h.run_state(run), Some(RunState::Failed));
    let work = h.task(run, "work").cloned();
    assert_eq!(work.as_ref().map(|t| t.state), Some(TaskState::Cancelled));
    assert!(
        work.and_then(|t| t.error)
            .is_some_and(|e| e.contains("timed out after 1m")),
        "the attempt says why"
    );
    // Its late result is acknowledged and changes nothing.
    h.finish(worker, task, TaskOutcome::Cancelled);
    h.settle();
    assert_eq!(h.run_state(run), Some(RunState::Failed));
}

#[test]
fn cancelling_a_parent_run_cancels_its_child_run_and_the_child_task_on_its_worker() {
    let mut h = Harness::new();
    h.job("name: child\ntasks:\n  - {name: inner, type: shell, script: sleep 600}\n");
    h.job("name: parent\ntasks:\n  - {name: sub, type: job, job: child}\n");
    let worker = h.worker("w1", 2);
    let parent = h.start("parent");
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 1, "the child's task is sent");
    assert_eq!(sent[0].1.job_name, "child");
    let child = sent[0].1.run_id;
    assert_ne!(child, parent);
    assert_eq!(h.run_state(child), Some(RunState::Running));

    let now = h.now;
    h.state.cancel_run(parent, now);
    let sent = h.settle();
    assert_eq!(cancels(&sent), vec![(worker, sent_task(&sent, worker))]);
    assert_eq!(h.run_state(parent), Some(RunState::Cancelled));
    assert_eq!(h.run_state(child), Some(RunState::Cancelled));
}

/// The one task a cancel was sent for to `worker`.
fn sent_task(sent: &[(u64, orrery_proto::SchedulerMessage)], worker: u64) -> orrery_proto::TaskRef {
    let cancels = cancels(sent);
    assert_eq!(cancels.len(), 1, "one cancel: {cancels:?}");
    assert_eq!(cancels[0].0, worker);
    cancels[0].1
}

#[test]
fn a_child_run_that_succeeds_ends_its_parent_task_and_the_parent_run() {
    let mut h = Harness::new();
    h.job("name: child\ntasks:\n  - {name: inner, type: shell, script: 'true'}\n");
    h.job("name: parent\ntasks:\n  - {name: sub, type: job, job: child}\n  - {name: after, type: shell, script: 'true', depends_on: [sub]}\n");
    let worker = h.worker("w1", 2);
    let parent = h.start("parent");
    let sent = assignments(&h.settle());
    assert_eq!(sent[0].1.task_name, "inner");
    h.finish(worker, sent[0].1.task, TaskOutcome::Succeeded);
    let sent = assignments(&h.settle());
    assert_eq!(
        sent.len(),
        1,
        "the parent's next task follows the child's success"
    );
    assert_eq!(
        (sent[0].1.run_id, sent[0].1.task_name.as_str()),
        (parent, "after")
    );
    assert_eq!(
        h.task(parent, "sub").map(|t| t.state),
        Some(TaskState::Success)
    );
    h.finish(worker, sent[0].1.task, TaskOutcome::Succeeded);
    h.settle();
    assert_eq!(h.run_state(parent), Some(RunState::Success));
}

#[test]
fn with_concurrency_queue_a_second_run_waits_until_the_first_ends() {
    let mut h = Harness::new();
    h.job("name: single\nschedule: {cron: '0 * * * *', concurrency: queue}\ntasks:\n  - {name: work, type: shell, script: sleep 5}\n");
    let worker = h.worker("w1", 4);
    let first = h.start("single");
    let second = h.start("single");
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 1, "only the first run starts");
    assert_eq!(sent[0].1.run_id, first);
    assert_eq!(h.run_state(second), Some(RunState::Queued));

    h.finish(worker, sent[0].1.task, TaskOutcome::Succeeded);
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 1, "the queued run starts once the first ended");
    assert_eq!(sent[0].1.run_id, second);
    assert_eq!(h.run_state(first), Some(RunState::Success));
}

#[test]
fn a_fan_out_runs_at_most_max_parallel_instances_at_once() {
    let mut h = Harness::new();
    h.job("name: fan\ntasks:\n  - {name: each, type: shell, script: 'echo {{ item }}', for_each: [1, 2, 3, 4, 5], max_parallel: 2}\n");
    let worker = h.worker("w1", 8);
    let run = h.start("fan");
    let mut running = assignments(&h.settle());
    let mut seen = Vec::new();
    while !running.is_empty() {
        assert!(
            running.len() <= 2,
            "at most 2 at once, got {}",
            running.len()
        );
        let (_, first) = running.remove(0);
        seen.push(first.task_name.clone());
        h.finish(worker, first.task, TaskOutcome::Succeeded);
        running.extend(assignments(&h.settle()));
    }
    assert_eq!(seen.len(), 5, "every instance ran once: {seen:?}");
    assert_eq!(h.run_state(run), Some(RunState::Success));
}

#[test]
fn a_handed_over_run_starts_unless_the_store_was_already_read_past_it() {
    let mut h = Harness::new();
    h.job("name: quick\ntasks:\n  - {name: work, type: shell, script: 'true'}\n");
    h.worker("w1", 4);
    let first = h.handed("quick");
    let first_id = first.record.id;
    assert!(h.state.take_handed(first.clone()), "a new run is taken");
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.run_id, first_id);
    assert!(
        !h.state.take_handed(first),
        "a run already active is not taken twice"
    );

    // The driver read the store past this run (it took the run up from there).
    let second = h.handed("quick");
    h.state.runs.seen_up_to = second.record.id;
    assert!(!h.state.take_handed(second));
    assert!(
        assignments(&h.settle()).is_empty(),
        "it does not start a second time"
    );
}
