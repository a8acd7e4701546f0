//! Retries: a task's `retries` and `retry_delay`, and the retries a lost attempt gets.

use super::harness::{Harness, assignments};
use crate::runtime::handle::SchedulerConfig;
use chrono::Duration;
use orrery_core::state::{RunState, TaskState};
use orrery_proto::TaskOutcome;

const FLAKY: &str = "
name: flaky
tasks:
  - name: load
    type: shell
    script: exit 1
    retries: 1
    retry_delay: 30s
";

#[test]
fn a_failed_attempt_is_retried_after_its_delay_and_the_run_fails_when_retries_run_out() {
    let mut h = Harness::new();
    h.job(FLAKY);
    let worker = h.worker("w1", 4);
    let run = h.start("flaky");
    let first = assignments(&h.settle());
    assert_eq!(first.len(), 1, "one attempt is sent");
    assert_eq!(first[0].1.task.attempt, 1);

    h.finish(worker, first[0].1.task, TaskOutcome::Failed);
    assert!(
        assignments(&h.settle()).is_empty(),
        "nothing before the delay"
    );
    assert_eq!(
        h.task(run, "load").map(|t| t.state),
        Some(TaskState::RetryWait)
    );

    h.advance_clock(Duration::seconds(29));
    assert!(assignments(&h.settle()).is_empty(), "still nothing at 29 s");
    h.advance_clock(Duration::seconds(1));
    let second = assignments(&h.settle());
    assert_eq!(second.len(), 1, "the retry is sent at 30 s");
    assert_eq!(second[0].1.task.attempt, 2);

    h.finish(worker, second[0].1.task, TaskOutcome::Failed);
    h.advance_clock(Duration::minutes(10));
    assert!(assignments(&h.settle()).is_empty(), "no third attempt");
    assert_eq!(h.run_state(run), Some(RunState::Failed));
    assert_eq!(
        h.attempt_states(run, "load"),
        vec![TaskState::Failed, TaskState::Failed]
    );
}

#[test]
fn a_lost_attempt_is_retried_up_to_lost_retries_even_when_the_task_has_none() {
    let config = SchedulerConfig {
        lost_retries: 1,
        ..SchedulerConfig::default()
    };
    let ttl = Duration::from_std(config.worker_ttl).unwrap_or_default();
    let mut h = Harness::with_config(config);
    h.job("name: once\ntasks:\n  - {name: work, type: shell, script: sleep 60}\n");
    let run = h.start("once");

    for (attempt, worker) in [(1, "w1"), (2, "w2")] {
        let session = h.worker(worker, 1);
        let sent = assignments(&h.settle());
        assert_eq!(sent.len(), 1, "attempt {attempt} is sent to {worker}");
        assert_eq!(sent[0].1.task.attempt, attempt);
        // The worker goes silent past its TTL: its attempt is lost.
        h.go_silent(session);
        h.advance_clock(ttl + Duration::seconds(1));
        h.settle();
    }
    assert_eq!(
        h.attempt_states(run, "work"),
        vec![TaskState::Lost, TaskState::Lost],
        "one retry for a lost attempt, no more"
    );
    assert_eq!(h.run_state(run), Some(RunState::Failed));
}

#[test]
fn retry_on_without_lost_does_not_retry_a_lost_attempt() {
    let mut h = Harness::new();
    h.job(
        "name: strict\ntasks:\n  - {name: work, type: shell, script: sleep 60, retries: 3, retry_on: [failed]}\n",
    );
    let ttl = Duration::from_std(h.state.config.worker_ttl).unwrap_or_default();
    let run = h.start("strict");
    let worker = h.worker("w1", 1);
    assert_eq!(assignments(&h.settle()).len(), 1);
    h.go_silent(worker);
    h.advance_clock(ttl + Duration::seconds(1));
    h.worker("w2", 1);
    assert!(
        assignments(&h.settle()).is_empty(),
        "a lost attempt is not retried"
    );
    assert_eq!(h.attempt_states(run, "work"), vec![TaskState::Lost]);
    assert_eq!(h.run_state(run), Some(RunState::Failed));
}
