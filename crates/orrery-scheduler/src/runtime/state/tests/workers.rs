//! Workers: reconcile on re-register, a lost worker, a closed link within the TTL,
//! revoked reports, draining.

use super::harness::{Harness, assignments, cancels};
use chrono::Duration;
use orrery_core::state::{RunState, TaskState};
use orrery_proto::{LogChunk, LogLine, LogStream, SchedulerMessage, TaskOutcome, WorkerMessage};

const SLEEPER: &str = "name: sleeper\ntasks:\n  - {name: work, type: shell, script: sleep 600}\n";

#[test]
fn a_worker_that_restarted_without_its_attempt_has_it_lost_and_retried() {
    let mut h = Harness::new();
    h.job(SLEEPER);
    h.worker("w1", 1);
    let run = h.start("sleeper");
    let first = assignments(&h.settle());
    assert_eq!(first.len(), 1);

    // The same worker registers again holding nothing: it restarted.
    let again = h.register("w1", 1, Vec::new());
    let retry = assignments(&h.settle());
    assert_eq!(retry.len(), 1, "the attempt is retried");
    assert_eq!(retry[0].0, again);
    assert_eq!(retry[0].1.task.attempt, 2);
    assert_eq!(
        h.attempt_states(run, "work"),
        vec![TaskState::Lost, TaskState::Assigned]
    );
}

#[test]
fn a_worker_back_within_its_ttl_keeps_its_attempt_and_one_revoked_meanwhile_is_cancelled() {
    let mut h = Harness::new();
    h.job(SLEEPER);
    let session = h.worker("w1", 2);
    let kept = h.start("sleeper");
    let revoked = h.start("sleeper");
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 2);
    let held: Vec<_> = sent.iter().map(|(_, a)| a.task).collect();

    h.disconnect(session);
    // While the worker is away, one of its runs is cancelled.
    let now = h.now;
    h.state.cancel_run(revoked, now);
    h.settle();
    h.advance_clock(Duration::seconds(5));

    let again = h.register("w1", 2, held.clone());
    assert_eq!(again, session, "the worker keeps its session");
    let sent = h.settle();
    let revoked_task = sent_for(&sent, revoked, &held);
    assert_eq!(cancels(&sent), vec![(session, revoked_task)]);
    assert!(assignments(&sent).is_empty(), "nothing is reassigned");
    assert_eq!(h.run_state(kept), Some(RunState::Running));
    assert_eq!(h.run_state(revoked), Some(RunState::Cancelled));
    // The revoked attempt holds its slot until the worker reports it ended.
    assert_eq!(
        h.state
            .fleet
            .sessions
            .get(&session)
            .map(|s| s.outstanding.len()),
        Some(2)
    );
    h.finish(session, revoked_task, TaskOutcome::Cancelled);
    assert_eq!(
        h.state
            .fleet
            .sessions
            .get(&session)
            .map(|s| s.outstanding.len()),
        Some(1)
    );
    assert!(
        h.state.pending.rejected.is_empty(),
        "an expected cancel is no rejection"
    );
}

/// The attempt of `run` among `held`.
fn sent_for(
    _sent: &[(u64, SchedulerMessage)],
    run: orrery_core::ids::RunId,
    held: &[orrery_proto::TaskRef],
) -> orrery_proto::TaskRef {
    // Runs are started in order and their single tasks numbered in order.
    let idx = usize::try_from(run.0 - 1).unwrap_or(0);
    held[idx]
}

#[test]
fn a_silent_worker_is_lost_its_attempt_retried_elsewhere_and_its_late_reports_rejected() {
    let mut h = Harness::new();
    h.job(SLEEPER);
    let ttl = Duration::from_std(h.state.config.worker_ttl).unwrap_or_default();
    let old = h.worker("w1", 1);
    let run = h.start("sleeper");
    let first = assignments(&h.settle());
    let task = first[0].1.task;

    h.go_silent(old);
    h.advance_clock(ttl);
    h.settle();
    assert!(
        h.state.pending.dropped_links.is_empty()
            && h.task(run, "work").map(|t| t.attempt) == Some(1),
        "not lost at exactly its TTL"
    );
    h.advance_clock(Duration::seconds(1));
    let new = h.worker("w2", 1);
    let retry = assignments(&h.settle());
    assert_eq!(retry.len(), 1);
    assert_eq!((retry[0].0, retry[0].1.task.attempt), (new, 2));

    // The old worker's lines and result arrive late: both are rejected and recorded.
    let chunk = LogChunk {
        task,
        lines: vec![LogLine {
            at: h.now,
            stream: LogStream::Stdout,
            text: "late".to_owned(),
        }],
    };
    let now = h.now;
    h.state.on_report(old, WorkerMessage::LogChunk(chunk), now);
    h.finish(old, task, TaskOutcome::Succeeded);
    let rejected: Vec<_> = h.state.pending.rejected.iter().map(|r| r.what).collect();
    assert_eq!(rejected, vec!["log lines", "result"]);
    assert!(
        h.state.pending.logs.is_empty(),
        "no line of the revoked attempt is kept"
    );
    h.settle();
    assert_eq!(
        h.run_state(run),
        Some(RunState::Running),
        "the retry still runs"
    );
    assert_eq!(
        h.attempt_states(run, "work"),
        vec![TaskState::Lost, TaskState::Assigned]
    );
}

#[test]
fn a_current_attempts_log_lines_are_kept_for_the_log_writer() {
    let mut h = Harness::new();
    h.job(SLEEPER);
    let worker = h.worker("w1", 1);
    let run = h.start("sleeper");
    let task = assignments(&h.settle())[0].1.task;
    let chunk = LogChunk {
        task,
        lines: vec![LogLine {
            at: h.now,
            stream: LogStream::Stderr,
            text: "hello".to_owned(),
        }],
    };
    let now = h.now;
    h.state
        .on_report(worker, WorkerMessage::LogChunk(chunk), now);
    let logs = std::mem::take(&mut h.state.pending.logs);
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (
            logs[0].run_id,
            logs[0].task_name.as_str(),
            logs[0].attempt,
            logs[0].lines[0].stream
        ),
        (run, "work", 1, "stderr")
    );
}

#[test]
fn a_draining_worker_gets_no_new_attempts() {
    let mut h = Harness::new();
    h.job(SLEEPER);
    let draining = h.worker("w1", 4);
    let now = h.now;
    h.state.on_report(
        draining,
        WorkerMessage::Credits {
            free_slots: 4,
            draining: true,
        },
        now,
    );
    h.start("sleeper");
    assert!(
        assignments(&h.settle()).is_empty(),
        "nothing goes to a draining worker"
    );
    let fresh = h.worker("w2", 1);
    let sent = assignments(&h.settle());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, fresh);
}
