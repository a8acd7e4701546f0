//! Tests of DAG advancement over a diamond `a → {b, c} → d` and a chain.

use super::*;
use TaskState as S;
use orrery_core::spec::{SpecFormat, parse_job_spec};

fn diamond() -> Dag {
    let yaml = r#"
name: diamond
tasks:
  - {name: a, type: noop}
  - {name: b, type: noop, depends_on: [a]}
  - {name: c, type: noop, depends_on: [a]}
  - {name: d, type: noop, depends_on: [b, c]}
"#;
    let spec = parse_job_spec(yaml, SpecFormat::Yaml).expect("valid spec");
    Dag::from_spec(&spec)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn check(states: [TaskState; 4], expected: &[Decision]) {
    let views: Vec<TaskView> = states.iter().map(|&s| TaskView::new(s)).collect();
    assert_eq!(
        advance_run(&diamond(), &views, now()),
        expected,
        "states {states:?}"
    );
}

#[test]
fn roots_are_enqueued_first() {
    check([S::Pending; 4], &[Decision::Enqueue(0)]);
}

#[test]
fn downstream_waits_for_all_upstreams() {
    check(
        [S::Success, S::Running, S::Pending, S::Pending],
        &[Decision::Enqueue(2)],
    );
    check([S::Success, S::Success, S::Running, S::Pending], &[]);
    check(
        [S::Success, S::Success, S::Success, S::Pending],
        &[Decision::Enqueue(3)],
    );
}

#[test]
fn failure_cascades_to_every_downstream_and_fails_the_run() {
    check(
        [S::Failed, S::Pending, S::Pending, S::Pending],
        &[
            Decision::UpstreamFailed(1),
            Decision::UpstreamFailed(2),
            Decision::UpstreamFailed(3),
            Decision::Finish(RunState::Failed),
        ],
    );
}

#[test]
fn one_failed_branch_fails_the_join_once_the_other_branch_ends() {
    check(
        [S::Success, S::TimedOut, S::Running, S::Pending],
        &[Decision::UpstreamFailed(3)],
    );
    check(
        [S::Success, S::Lost, S::Success, S::UpstreamFailed],
        &[Decision::Finish(RunState::Failed)],
    );
}

#[test]
fn all_success_finishes_the_run() {
    check([S::Success; 4], &[Decision::Finish(RunState::Success)]);
}

#[test]
fn skipped_upstream_skips_downstream_and_run_still_succeeds() {
    check(
        [S::Success, S::Skipped, S::Success, S::Pending],
        &[Decision::Skip(3), Decision::Finish(RunState::Success)],
    );
}

#[test]
fn cancelled_tasks_fail_the_run() {
    check(
        [S::Cancelled, S::Cancelled, S::Cancelled, S::Cancelled],
        &[Decision::Finish(RunState::Failed)],
    );
}

#[test]
fn retry_waits_until_due() {
    let dag = diamond();
    let mut views = vec![TaskView::new(S::Pending); 4];
    views[0] = TaskView {
        state: S::RetryWait,
        retry_at: Some(now() + chrono::Duration::seconds(5)),
    };
    assert_eq!(advance_run(&dag, &views, now()), vec![]);
    let later = now() + chrono::Duration::seconds(5);
    assert_eq!(advance_run(&dag, &views, later), vec![Decision::Enqueue(0)]);
}

#[test]
fn running_tasks_keep_the_run_open() {
    check([S::Success, S::Running, S::Running, S::Pending], &[]);
}
