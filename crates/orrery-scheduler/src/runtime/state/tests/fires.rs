//! Fires: misfire policies after downtime, concurrency policies when a fire finds a
//! run still active, and the fire lead undone by a pause.

use super::harness::{Harness, assignments, cancels};
use chrono::Duration;
use orrery_core::state::{FireFate, RunState};

#[test]
fn after_downtime_run_once_runs_only_the_latest_fire_and_records_the_others_missed() {
    let mut h = Harness::new();
    h.job("name: minutely\nschedule: {every: 1m, misfire: run_once}\ntasks:\n  - {name: work, type: noop}\n");
    h.schedule("minutely");
    // Nothing fires for 5½ minutes (the scheduler was down).
    h.advance_clock(Duration::seconds(330));
    h.fire();
    let fates = h.fates("minutely");
    assert_eq!(fates.len(), 5, "every nominal fire is recorded: {fates:?}");
    assert_eq!(&fates[..4], &[FireFate::Missed; 4]);
    assert_eq!(fates[4], FireFate::Fired);
    assert_eq!(
        h.runs_of("minutely").len(),
        1,
        "one run, for the latest fire"
    );
}

#[test]
fn after_downtime_skip_runs_none_and_the_next_fire_runs_on_time() {
    let mut h = Harness::new();
    h.job("name: minutely\nschedule: {every: 1m, misfire: skip}\ntasks:\n  - {name: work, type: noop}\n");
    h.schedule("minutely");
    h.advance_clock(Duration::seconds(150));
    h.fire();
    assert_eq!(
        h.fates("minutely"),
        vec![FireFate::Missed, FireFate::Missed]
    );
    assert!(h.runs_of("minutely").is_empty());
    h.advance_clock(Duration::seconds(30));
    h.fire();
    assert_eq!(h.fates("minutely").last(), Some(&FireFate::Fired));
}

#[test]
fn concurrency_forbid_skips_a_fire_while_the_last_run_is_active() {
    let mut h = Harness::new();
    h.job("name: single\nschedule: {every: 1m, concurrency: forbid}\ntasks:\n  - {name: work, type: shell, script: sleep 600}\n");
    h.worker("w1", 4);
    h.schedule("single");
    h.advance_clock(Duration::seconds(60));
    h.fire();
    assert_eq!(assignments(&h.settle()).len(), 1);
    h.advance_clock(Duration::seconds(60));
    h.fire();
    assert!(assignments(&h.settle()).is_empty(), "no second run");
    assert_eq!(
        h.fates("single"),
        vec![FireFate::Fired, FireFate::SkippedOverlap]
    );
    assert_eq!(h.runs_of("single").len(), 1);
}

#[test]
fn concurrency_replace_cancels_the_active_run_when_the_next_fire_comes() {
    let mut h = Harness::new();
    h.job("name: latest\nschedule: {every: 1m, concurrency: replace}\ntasks:\n  - {name: work, type: shell, script: sleep 600}\n");
    let worker = h.worker("w1", 4);
    h.schedule("latest");
    h.advance_clock(Duration::seconds(60));
    h.fire();
    let first = assignments(&h.settle());
    assert_eq!(first.len(), 1);
    let old_run = first[0].1.run_id;

    h.advance_clock(Duration::seconds(60));
    h.fire();
    let sent = h.settle();
    assert_eq!(
        cancels(&sent),
        vec![(worker, first[0].1.task)],
        "the old attempt is stopped"
    );
    let started = assignments(&sent);
    assert_eq!(started.len(), 1, "the new run starts");
    assert_ne!(started[0].1.run_id, old_run);
    assert_eq!(h.run_state(old_run), Some(RunState::Cancelled));
    assert_eq!(h.fates("latest"), vec![FireFate::Fired, FireFate::Fired]);
}

#[test]
fn pausing_within_the_fire_lead_cancels_the_run_made_ahead_and_records_the_fire_paused() {
    let mut h = Harness::new();
    h.job("name: ahead\nschedule: {every: 1m}\ntasks:\n  - {name: work, type: shell, script: 'true'}\n");
    let worker = h.worker("w1", 4);
    h.schedule("ahead");
    // 300 ms before the fire: within the 500 ms lead, the run is made ahead.
    h.advance_clock(Duration::milliseconds(59_700));
    h.fire();
    let sent = assignments(&h.settle());
    assert_eq!(
        sent.len(),
        1,
        "the first task is sent ahead, held by the worker"
    );
    let run = sent[0].1.run_id;
    assert_eq!(h.fates("ahead"), vec![FireFate::Fired]);

    h.pause("ahead");
    let sent = h.settle();
    assert_eq!(
        cancels(&sent),
        vec![(worker, assignments_task(&sent, worker))]
    );
    assert_eq!(h.run_state(run), Some(RunState::Cancelled));
    assert_eq!(h.fates("ahead"), vec![FireFate::Paused]);
    // The fire time passes while paused: nothing runs.
    h.advance_clock(Duration::seconds(1));
    h.fire();
    assert!(assignments(&h.settle()).is_empty());
}

/// The task of the single cancel sent to `worker`.
fn assignments_task(
    sent: &[(u64, orrery_proto::SchedulerMessage)],
    worker: u64,
) -> orrery_proto::TaskRef {
    let cancels = cancels(sent);
    assert_eq!(cancels.len(), 1, "one cancel: {cancels:?}");
    assert_eq!(cancels[0].0, worker);
    cancels[0].1
}
