//! Timeouts, cancels, shutdown and lost links kill the whole process group.

mod common;

use common::{Attempt, Harness, SAFETY, assert_process_gone, process_alive, shell, task, within};
use orrery_proto::{SchedulerMessage, TaskOutcome, WorkerMessage};
use std::time::Duration;
use tokio::time::Instant;

/// Starts a grandchild `sleep 300` whose pid is the first stdout line, then `rest`.
fn with_grandchild(rest: &str) -> String {
    format!("sleep 300 & echo $!; {rest}")
}

/// Collects messages until the attempt has printed the grandchild's pid.
async fn grandchild_pid(harness: &mut Harness, id: i64, attempt: &mut Attempt) -> i32 {
    let finished = harness
        .collect_into(task(id), attempt, |attempt| attempt.first_pid().is_some())
        .await;
    assert!(!finished, "finished before printing a pid: {attempt:?}");
    let pid = attempt.first_pid().expect("a pid line");
    assert!(process_alive(pid));
    pid
}

#[tokio::test]
async fn a_timeout_kills_the_process_quickly() {
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = shell(1, "sleep 30");
    assignment.timeout = Some(Duration::from_secs(1));
    let begun = Instant::now();
    let attempt = harness.run(assignment).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::TimedOut);
    assert_eq!(finished.error.as_deref(), Some("timed out after 1s"));
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
}

#[tokio::test]
async fn a_timeout_kills_grandchildren_too() {
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = shell(1, &with_grandchild("sleep 30"));
    assignment.timeout = Some(Duration::from_secs(1));
    harness.send(SchedulerMessage::Assign(assignment)).await;
    let mut attempt = Attempt::default();
    let pid = grandchild_pid(&mut harness, 1, &mut attempt).await;
    assert!(harness.collect_into(task(1), &mut attempt, |_| false).await);
    assert_eq!(attempt.finished().outcome, TaskOutcome::TimedOut);
    assert_process_gone(pid).await;
}

#[tokio::test]
async fn a_task_ignoring_sigterm_is_killed_after_the_grace_period() {
    let mut harness = Harness::start(|config| config.kill_grace = Duration::from_millis(300)).await;
    let mut assignment = shell(1, "trap '' TERM; sleep 30");
    assignment.timeout = Some(Duration::from_millis(200));
    let attempt = harness.run(assignment).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::TimedOut);
    assert_eq!(finished.exit_code, None);
    assert_eq!(finished.error.as_deref(), Some("timed out after 200ms"));
}

#[tokio::test]
async fn a_cancel_kills_the_group_and_reports_cancelled() {
    let mut harness = Harness::start(|_| {}).await;
    harness
        .send(SchedulerMessage::Assign(shell(
            1,
            &with_grandchild("sleep 30"),
        )))
        .await;
    let mut attempt = Attempt::default();
    let pid = grandchild_pid(&mut harness, 1, &mut attempt).await;
    harness.send(SchedulerMessage::Cancel(task(1))).await;
    assert!(harness.collect_into(task(1), &mut attempt, |_| false).await);
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Cancelled);
    assert_eq!(finished.error, None);
    assert_process_gone(pid).await;
}

#[tokio::test]
async fn grandchildren_outliving_a_finished_task_are_killed_without_hanging() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(shell(1, &with_grandchild("echo done"))).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(attempt.stdout()[1..], ["done"]);
    assert_process_gone(attempt.first_pid().expect("a pid line")).await;
}

#[tokio::test]
async fn shutdown_cancels_running_attempts_and_returns() {
    let mut harness = Harness::start(|_| {}).await;
    harness
        .send(SchedulerMessage::Assign(shell(
            1,
            &with_grandchild("sleep 30"),
        )))
        .await;
    let mut attempt = Attempt::default();
    let pid = grandchild_pid(&mut harness, 1, &mut attempt).await;
    harness.shutdown.send_replace(true);
    assert!(harness.collect_into(task(1), &mut attempt, |_| false).await);
    assert_eq!(attempt.finished().outcome, TaskOutcome::Cancelled);
    harness.join().await.expect("a clean stop");
    assert_process_gone(pid).await;
}

#[tokio::test]
async fn a_closed_link_keeps_the_attempt_and_reports_it_on_the_next_link() {
    let mut harness = Harness::start(|_| {}).await;
    harness
        .send(SchedulerMessage::Assign(shell(1, "sleep 0.3; echo done")))
        .await;
    let mut attempt = Attempt::default();
    harness
        .collect_into(task(1), &mut attempt, |a| a.started.is_some())
        .await;
    harness.reconnect().await;
    match harness.recv().await {
        WorkerMessage::Register(register) => assert_eq!(register.attempts, [task(1)]),
        other => panic!("expected a registration naming the attempt, got {other:?}"),
    }
    harness
        .send(SchedulerMessage::Registered {
            worker_id: "w-1".to_owned(),
            heartbeat_interval: Duration::from_secs(3600),
        })
        .await;
    let mut after = Attempt::default();
    assert!(harness.collect_into(task(1), &mut after, |_| false).await);
    assert_eq!(after.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(after.stdout(), ["done"]);
}

#[tokio::test]
async fn shutdown_while_disconnected_kills_running_attempts() {
    let mut harness = Harness::start(|_| {}).await;
    harness
        .send(SchedulerMessage::Assign(shell(
            1,
            &with_grandchild("sleep 30"),
        )))
        .await;
    let mut attempt = Attempt::default();
    let pid = grandchild_pid(&mut harness, 1, &mut attempt).await;
    let Harness {
        to_worker,
        from_worker,
        worker,
        shutdown,
        links,
        ..
    } = harness;
    drop((to_worker, from_worker));
    shutdown.send_replace(true);
    within(SAFETY, worker)
        .await
        .expect("worker task")
        .expect("a clean stop");
    drop(links);
    assert_process_gone(pid).await;
}

#[tokio::test]
async fn a_process_that_left_the_group_does_not_hold_the_attempt_open() {
    let setsid_available = std::process::Command::new("setsid")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !setsid_available {
        eprintln!("SKIPPED: `setsid` is not installed, so no process can leave the group");
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let begun = Instant::now();
    let attempt = harness
        .run(shell(1, "setsid sleep 300 & echo $!; echo done"))
        .await;
    let escaped = attempt.first_pid().expect("a pid line");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(escaped),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(attempt.stdout()[1..], ["done"]);
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
}
