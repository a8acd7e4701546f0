//! Alert events the state raises with its changes: a task failing for good, the run
//! failing, retries (when the job asks), a timeout, a lost worker, and the success
//! that resolves the job's alerts.

use super::harness::{Harness, assignments};
use crate::runtime::handle::SchedulerConfig;
use chrono::Duration;
use orrery_proto::TaskOutcome;
use orrery_store::AlertEventStatus;

fn names(h: &Harness) -> Vec<(String, AlertEventStatus)> {
    h.alerts
        .iter()
        .map(|a| {
            (
                a.labels.get("alertname").cloned().unwrap_or_default(),
                a.status,
            )
        })
        .collect()
}

const FLAKY: &str = "
name: flaky
alerts: {retrying: true, severity: info, labels: {team: payments}}
tasks:
  - {name: load, type: shell, script: exit 1, retries: 1, retry_delay: 1s}
";

#[test]
fn a_task_failing_for_good_raises_task_failed_then_run_failed_and_a_success_resolves() {
    let mut h = Harness::new();
    h.job(FLAKY);
    let worker = h.worker("w1", 4);
    let run = h.start("flaky");
    let first = assignments(&h.settle());
    h.finish(worker, first[0].1.task, TaskOutcome::Failed);
    h.settle();
    assert_eq!(
        names(&h),
        vec![("TaskRetrying".to_owned(), AlertEventStatus::Firing)],
        "the job asked for retry alerts"
    );
    h.advance_clock(Duration::seconds(1));
    let second = assignments(&h.settle());
    h.finish(worker, second[0].1.task, TaskOutcome::Failed);
    h.settle();
    assert_eq!(
        names(&h)[1..],
        [
            ("TaskFailed".to_owned(), AlertEventStatus::Firing),
            ("RunFailed".to_owned(), AlertEventStatus::Firing)
        ]
    );
    let task_failed = &h.alerts[1];
    assert_eq!(task_failed.labels["task"], "load");
    assert_eq!(task_failed.labels["worker"], "w1");
    assert_eq!(task_failed.labels["severity"], "info", "the job's override");
    assert_eq!(task_failed.labels["team"], "payments");
    assert_eq!(task_failed.annotations["attempt"], "2");
    assert_eq!(task_failed.annotations["run_id"], run.0.to_string());
    let run_failed = &h.alerts[2];
    assert!(!run_failed.labels.contains_key("task"));
    assert!(
        run_failed.annotations["error"].starts_with("task load"),
        "{:?}",
        run_failed.annotations
    );

    h.job("name: flaky\ntasks:\n  - {name: load, type: shell, script: exit 0}\n");
    h.start("flaky");
    let sent = assignments(&h.settle());
    h.finish(worker, sent[0].1.task, TaskOutcome::Succeeded);
    h.settle();
    let last = h.alerts.last().expect("an event");
    assert_eq!(last.status, AlertEventStatus::ResolveJob);
    assert_eq!(last.labels["job"], "flaky");
}

#[test]
fn retries_do_not_alert_unless_the_job_asks_and_a_timeout_is_its_own_alert() {
    let mut h = Harness::new();
    h.job("name: slow\ntimeout: 1m\ntasks:\n  - {name: work, type: shell, script: sleep 600, retries: 1}\n");
    let worker = h.worker("w1", 4);
    h.start("slow");
    let first = assignments(&h.settle());
    h.finish(worker, first[0].1.task, TaskOutcome::Failed);
    h.settle();
    assert!(h.alerts.is_empty(), "{:?}", names(&h));
    h.advance_clock(Duration::minutes(2));
    h.settle();
    let alerts = names(&h);
    assert!(
        alerts.contains(&("RunTimedOut".to_owned(), AlertEventStatus::Firing)),
        "{alerts:?}"
    );
    assert!(
        !alerts.iter().any(|(name, _)| name == "RunFailed"),
        "a timed-out run says so once: {alerts:?}"
    );
}

#[test]
fn a_lost_worker_raises_worker_lost_in_the_project_of_its_attempts() {
    let config = SchedulerConfig {
        lost_retries: 0,
        ..SchedulerConfig::default()
    };
    let ttl = Duration::from_std(config.worker_ttl).unwrap_or_default();
    let mut h = Harness::with_config(config);
    h.job(
        "name: once\nproject: default\ntasks:\n  - {name: work, type: shell, script: sleep 60}\n",
    );
    h.start("once");
    let session = h.worker("w1", 1);
    assert_eq!(assignments(&h.settle()).len(), 1);
    h.go_silent(session);
    h.advance_clock(ttl + Duration::seconds(1));
    h.settle();
    let lost = h
        .alerts
        .iter()
        .find(|a| a.labels["alertname"] == "WorkerLost")
        .expect("WorkerLost");
    assert_eq!(lost.labels["worker"], "w1");
    assert_eq!(lost.project, "default");
    let task_failed = h
        .alerts
        .iter()
        .find(|a| a.labels["alertname"] == "TaskFailed")
        .expect("TaskFailed");
    assert_eq!(
        task_failed.labels["worker"], "w1",
        "the same worker label, so WorkerLost inhibits it"
    );
}

#[test]
fn missed_and_skipped_fires_raise_one_fire_missed_per_job() {
    let mut h = Harness::new();
    h.job("name: minutely\nschedule: {every: 1m, misfire: skip}\ntasks:\n  - {name: work, type: noop}\n");
    h.job("name: single\nschedule: {every: 1m, concurrency: forbid}\ntasks:\n  - {name: work, type: shell, script: sleep 600}\n");
    h.worker("w1", 4);
    h.schedule("minutely");
    h.schedule("single");
    h.advance_clock(Duration::seconds(150));
    h.fire();
    h.settle();
    let missed: Vec<_> = h
        .alerts
        .iter()
        .filter(|a| a.labels["alertname"] == "FireMissed")
        .collect();
    assert_eq!(missed.len(), 2, "one per job: {missed:?}");
    let minutely = missed
        .iter()
        .find(|a| a.labels["job"] == "minutely")
        .expect("minutely");
    assert_eq!(minutely.labels["severity"], "critical");
    assert_eq!(minutely.annotations["outcome"], "missed");
    assert_eq!(minutely.annotations["missed_fires"], "2");
    // `single` ran its latest fire (run_once is the default); then a fire finds it busy.
    h.advance_clock(Duration::seconds(60));
    h.fire();
    let skipped = h
        .alerts
        .iter()
        .rfind(|a| a.labels["alertname"] == "FireMissed" && a.labels["job"] == "single")
        .expect("single's skipped fire");
    assert_eq!(skipped.annotations["outcome"], "skipped_overlap");
}

#[test]
fn a_run_past_its_max_duration_raises_sla_missed_once() {
    let mut h = Harness::new();
    h.job("name: long\nsla: {max_duration: 45m}\ntasks:\n  - {name: work, type: shell, script: sleep 7200}\n");
    h.worker("w1", 4);
    let run = h.start("long");
    assert_eq!(assignments(&h.settle()).len(), 1);
    h.advance_clock(Duration::minutes(44));
    h.settle();
    assert!(h.alerts.is_empty(), "not yet: {:?}", names(&h));
    h.advance_clock(Duration::minutes(1));
    h.settle();
    h.advance_clock(Duration::minutes(30));
    h.settle();
    let sla: Vec<_> = h
        .alerts
        .iter()
        .filter(|a| a.labels["alertname"] == "SlaMissed")
        .collect();
    assert_eq!(sla.len(), 1, "once: {:?}", names(&h));
    assert_eq!(sla[0].labels["severity"], "critical");
    assert_eq!(sla[0].annotations["sla"], "max_duration");
    assert_eq!(sla[0].annotations["run_id"], run.0.to_string());
    assert!(sla[0].annotations.contains_key(orrery_store::ONCE_KEY));
}

#[test]
fn a_fire_deadline_is_met_by_a_start_or_a_success_and_missed_without_one() {
    use crate::runtime::state::sla::{SlaKind, met};
    use orrery_core::state::RunState;
    let at = |m: i64| chrono::DateTime::from_timestamp(1_800_000_000 + m * 60, 0).expect("time");
    let due = at(5);
    assert!(!met(SlaKind::StartBy, &[], due), "no run at all");
    assert!(!met(SlaKind::StartBy, &[(RunState::Queued, None)], due));
    assert!(
        !met(SlaKind::StartBy, &[(RunState::Running, Some(at(6)))], due),
        "too late"
    );
    assert!(met(
        SlaKind::StartBy,
        &[(RunState::Running, Some(at(4)))],
        due
    ));
    assert!(!met(
        SlaKind::FinishBy,
        &[(RunState::Running, Some(at(1)))],
        due
    ));
    assert!(!met(
        SlaKind::FinishBy,
        &[(RunState::Failed, Some(at(1)))],
        due
    ));
    assert!(met(
        SlaKind::FinishBy,
        &[
            (RunState::Failed, Some(at(1))),
            (RunState::Success, Some(at(2)))
        ],
        due
    ));
}
