//! A fire sent ahead of its time: the worker holds the attempt for its start delay,
//! keeping its slot, and a cancel during that wait ends it without starting it.

mod common;

use common::{Harness, assignment, task};
use orrery_proto::{ExecSpec, SchedulerMessage, TaskOutcome, WorkerMessage};
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn an_attempt_with_a_start_delay_starts_only_once_it_has_passed() {
    let mut harness = Harness::start(|_| {}).await;
    let mut held = assignment(1, ExecSpec::Noop);
    held.start_delay = Some(Duration::from_secs(10));
    let sent = Instant::now();
    harness.send(SchedulerMessage::Assign(held)).await;
    harness
        .send(SchedulerMessage::Assign(assignment(2, ExecSpec::Noop)))
        .await;
    let mut started = Vec::new();
    let mut free_slots_seen = Vec::new();
    while started.len() < 2 {
        match harness.recv().await {
            WorkerMessage::TaskStarted(s) => started.push((s.task, sent.elapsed())),
            WorkerMessage::Credits { free_slots, .. } => free_slots_seen.push(free_slots),
            _ => {}
        }
    }
    assert_eq!(
        started.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        [task(2), task(1)],
        "the undelayed attempt starts first"
    );
    assert!(
        started[1].1 >= Duration::from_secs(10),
        "started {:?} after it was sent",
        started[1].1
    );
    // The held attempt kept its slot while it waited (4 slots in the test config).
    assert!(free_slots_seen.contains(&3), "{free_slots_seen:?}");
}

#[tokio::test(start_paused = true)]
async fn a_cancel_before_the_start_delay_ends_the_attempt_unstarted() {
    let mut harness = Harness::start(|_| {}).await;
    let mut held = assignment(1, ExecSpec::Noop);
    held.start_delay = Some(Duration::from_secs(60));
    harness.send(SchedulerMessage::Assign(held)).await;
    harness.send(SchedulerMessage::Cancel(task(1))).await;
    let attempt = harness.collect_until_finished(task(1)).await;
    assert!(attempt.started.is_none(), "{:?}", attempt.started);
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Cancelled);
    assert_eq!(
        finished.error.as_deref(),
        Some("cancelled before its start time")
    );
}
