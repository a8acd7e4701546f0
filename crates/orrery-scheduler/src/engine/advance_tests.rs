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

/// `left` and `right` feed `join`; each rule is checked against upstream mixes.
fn join(rule: Rule, left: TaskState, right: TaskState) -> Option<Decision> {
    let yaml = "name: j\ntasks:\n  - {name: left, type: noop}\n  - {name: right, type: noop}\n  - {name: join, type: noop, depends_on: [left, right]}\n";
    let spec = parse_job_spec(yaml, SpecFormat::Yaml).expect("valid spec");
    let dag = Dag::from_spec(&spec);
    let shape = RunShape {
        rules: vec![Rule::AllSuccess, Rule::AllSuccess, rule],
        ..RunShape::default()
    };
    let views = [
        TaskView::new(left),
        TaskView::new(right),
        TaskView::new(S::Pending),
    ];
    advance_run_with(&dag, &views, now(), &shape)
        .into_iter()
        .find(|d| !matches!(d, Decision::Finish(_)))
}

#[test]
fn every_trigger_rule_over_upstream_mixes() {
    use Decision::{Enqueue, Skip, UpstreamFailed};
    let q = Some(Enqueue(2));
    let skip = Some(Skip(2));
    let up = Some(UpstreamFailed(2));
    let cases: &[(Rule, TaskState, TaskState, Option<Decision>)] = &[
        (Rule::AllSuccess, S::Success, S::Success, q),
        (Rule::AllSuccess, S::Success, S::Running, None),
        (Rule::AllSuccess, S::Failed, S::Running, up),
        (Rule::AllSuccess, S::Success, S::Skipped, skip),
        (Rule::AllDone, S::Failed, S::Skipped, q),
        (Rule::AllDone, S::Failed, S::Running, None),
        (Rule::AllFailed, S::Failed, S::TimedOut, q),
        (Rule::AllFailed, S::Failed, S::Success, skip),
        (Rule::AllFailed, S::Failed, S::Running, None),
        (Rule::OneSuccess, S::Success, S::Running, q),
        (Rule::OneSuccess, S::Failed, S::Failed, up),
        (Rule::OneSuccess, S::Skipped, S::Skipped, skip),
        (Rule::OneFailed, S::Failed, S::Running, q),
        (Rule::OneFailed, S::Success, S::Success, skip),
        (Rule::OneFailed, S::Success, S::Running, None),
        (Rule::NoneFailed, S::Success, S::Skipped, q),
        (Rule::NoneFailed, S::Success, S::Failed, up),
        (Rule::NoneFailedMinOneSuccess, S::Success, S::Skipped, q),
        (Rule::NoneFailedMinOneSuccess, S::Skipped, S::Skipped, skip),
        (Rule::NoneFailedMinOneSuccess, S::Lost, S::Success, up),
    ];
    for (rule, left, right, expected) in cases {
        assert_eq!(
            join(*rule, *left, *right),
            *expected,
            "{rule:?} with {left} and {right}"
        );
    }
}

#[test]
fn a_branch_skips_the_downstream_it_did_not_choose() {
    let dag = diamond();
    let mut branch_choices = vec![None; 4];
    branch_choices[0] = Some(vec![1]);
    let shape = RunShape {
        rules: vec![
            Rule::AllSuccess,
            Rule::AllSuccess,
            Rule::AllSuccess,
            Rule::NoneFailedMinOneSuccess,
        ],
        branch_choices,
        ..RunShape::default()
    };
    let views: Vec<TaskView> = [S::Success, S::Pending, S::Pending, S::Pending]
        .map(TaskView::new)
        .to_vec();
    assert_eq!(
        advance_run_with(&dag, &views, now(), &shape),
        vec![Decision::Enqueue(1), Decision::Skip(2)]
    );
    let views: Vec<TaskView> = [S::Success, S::Success, S::Skipped, S::Pending]
        .map(TaskView::new)
        .to_vec();
    assert_eq!(
        advance_run_with(&dag, &views, now(), &shape),
        vec![Decision::Enqueue(3)],
        "the join runs after the chosen branch"
    );
}

#[test]
fn failure_handler_runs_only_when_the_rest_failed() {
    let yaml = "name: h\ntasks:\n  - {name: work, type: noop}\n  - {name: alert, type: noop}\n  - {name: celebrate, type: noop}\n";
    let spec = parse_job_spec(yaml, SpecFormat::Yaml).expect("valid spec");
    let dag = Dag::from_spec(&spec);
    let shape = RunShape {
        on_failure: Some(1),
        on_success: Some(2),
        ..RunShape::default()
    };
    let failed: Vec<TaskView> = [S::Failed, S::Pending, S::Pending]
        .map(TaskView::new)
        .to_vec();
    assert_eq!(
        advance_run_with(&dag, &failed, now(), &shape),
        vec![Decision::Enqueue(1), Decision::Skip(2)]
    );
    let handled: Vec<TaskView> = [S::Failed, S::Success, S::Skipped]
        .map(TaskView::new)
        .to_vec();
    assert_eq!(
        advance_run_with(&dag, &handled, now(), &shape),
        vec![Decision::Finish(RunState::Failed)]
    );
    let ok: Vec<TaskView> = [S::Success, S::Pending, S::Pending]
        .map(TaskView::new)
        .to_vec();
    assert_eq!(
        advance_run_with(&dag, &ok, now(), &shape),
        vec![Decision::Enqueue(2), Decision::Skip(1)]
    );
    let waiting: Vec<TaskView> = [S::Running, S::Pending, S::Pending]
        .map(TaskView::new)
        .to_vec();
    assert_eq!(advance_run_with(&dag, &waiting, now(), &shape), vec![]);
}
