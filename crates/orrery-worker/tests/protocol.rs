//! The worker's side of the protocol: registration, credits, heartbeats, acks and drain.

mod common;

use common::{Harness, shell, task};
use orrery_proto::{
    Capacity, ExecSpec, PROTOCOL_VERSION, Register, SchedulerMessage, TaskOutcome, WorkerMessage,
};
use orrery_worker::WorkerError;
use std::time::Duration;

#[tokio::test]
async fn the_worker_registers_then_announces_its_slots() {
    let mut harness = Harness::start_unregistered(|config| {
        config.slots = 3;
        config.group = "gpu".to_owned();
        config.labels.insert("zone".to_owned(), "a".to_owned());
        config.cpu_millis = 2000;
        config.memory_bytes = 1 << 30;
    });
    let WorkerMessage::Register(register) = harness.recv().await else {
        panic!("expected a registration first");
    };
    let worker_id = std::fs::read_to_string(harness.work_dir.path().join("worker-id"))
        .expect("the worker keeps its id in its work directory");
    assert_eq!(
        register,
        Register {
            name: "test-worker".to_owned(),
            protocol_version: PROTOCOL_VERSION,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            worker_id: worker_id.trim().to_owned(),
            group: "gpu".to_owned(),
            labels: [("zone".to_owned(), "a".to_owned())].into(),
            capacity: Capacity {
                slots: 3,
                cpu_millis: 2000,
                memory_bytes: 1 << 30,
                gpus: 0,
                disk_bytes: 0,
            },
            attempts: Vec::new(),
        }
    );
    harness
        .send(SchedulerMessage::Registered {
            worker_id: "w-9".to_owned(),
            heartbeat_interval: Duration::from_secs(3600),
        })
        .await;
    assert_eq!(
        harness.recv().await,
        WorkerMessage::Credits {
            free_slots: 3,
            draining: false
        }
    );
}

#[tokio::test]
async fn a_refused_registration_stops_the_worker_with_the_reason() {
    let mut harness = Harness::start_unregistered(|_| {});
    assert!(matches!(harness.recv().await, WorkerMessage::Register(_)));
    harness
        .send(SchedulerMessage::Refused {
            reason: "protocol 1 is too old".to_owned(),
        })
        .await;
    match harness.join().await {
        Err(WorkerError::Refused(reason)) => assert_eq!(reason, "protocol 1 is too old"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_link_closed_before_registration_is_retried_on_a_new_link() {
    let mut harness = Harness::start_unregistered(|_| {});
    assert!(matches!(harness.recv().await, WorkerMessage::Register(_)));
    harness.reconnect().await;
    match harness.recv().await {
        WorkerMessage::Register(register) => assert!(register.attempts.is_empty()),
        other => panic!("expected a second registration, got {other:?}"),
    }
}

#[tokio::test]
async fn credits_go_down_on_assign_and_back_up_on_finish() {
    let mut harness = Harness::start(|config| config.slots = 2).await;
    let attempt = harness.run(shell(1, "echo hi")).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    let credits: Vec<&WorkerMessage> = attempt
        .others
        .iter()
        .filter(|message| matches!(message, WorkerMessage::Credits { .. }))
        .collect();
    assert_eq!(
        credits,
        [&WorkerMessage::Credits {
            free_slots: 1,
            draining: false
        }]
    );
    assert_eq!(
        harness.recv().await,
        WorkerMessage::Credits {
            free_slots: 2,
            draining: false
        }
    );
}

#[tokio::test]
async fn an_assignment_beyond_the_slots_is_refused() {
    let mut harness = Harness::start(|config| config.slots = 1).await;
    harness
        .send(SchedulerMessage::Assign(shell(1, "sleep 30")))
        .await;
    harness
        .send(SchedulerMessage::Assign(shell(2, "echo never")))
        .await;
    let attempt = harness.collect_until_finished(task(2)).await;
    let finished = attempt.finished();
    // Cancelled, not failed: the scheduler retries the attempt elsewhere.
    assert_eq!(finished.outcome, TaskOutcome::Cancelled);
    assert_eq!(finished.error.as_deref(), Some("worker has no free slot"));
    assert!(attempt.others.contains(&WorkerMessage::Credits {
        free_slots: 0,
        draining: false
    }));
}

#[tokio::test]
async fn heartbeats_are_sent_periodically() {
    // The scheduler's interval wins over the worker's own.
    let mut harness = Harness::start_unregistered(|_| {});
    assert!(matches!(harness.recv().await, WorkerMessage::Register(_)));
    harness
        .send(SchedulerMessage::Registered {
            worker_id: "w-1".to_owned(),
            heartbeat_interval: Duration::from_millis(20),
        })
        .await;
    assert!(matches!(
        harness.recv().await,
        WorkerMessage::Credits { .. }
    ));
    assert_eq!(harness.recv().await, WorkerMessage::Heartbeat);
    assert_eq!(harness.recv().await, WorkerMessage::Heartbeat);
}

#[tokio::test]
async fn results_are_resent_until_acknowledged() {
    let mut harness =
        Harness::start(|config| config.result_resend_interval = Duration::from_millis(20)).await;
    let first = harness.run(common::assignment(1, ExecSpec::Noop)).await;
    let resent = harness.collect_until_finished(task(1)).await;
    assert_eq!(resent.finished, first.finished);
    let resent_again = harness.collect_until_finished(task(1)).await;
    assert_eq!(resent_again.finished, first.finished);

    // Once acknowledged nothing is pending, so a drain completes at once.
    harness.send(SchedulerMessage::Ack(task(1))).await;
    harness.send(SchedulerMessage::Drain).await;
    harness.join().await.expect("a completed drain");
}

#[tokio::test]
async fn a_drain_refuses_new_work_and_ends_once_running_work_is_reported() {
    let mut harness = Harness::start(|_| {}).await;
    // The first attempt runs until the test creates the `go` file.
    let go = tempfile::tempdir().expect("temp dir");
    let go_file = go.path().join("go");
    let script = format!(
        "while [ ! -e '{}' ]; do sleep 0.01; done; echo ran",
        go_file.display()
    );
    harness
        .send(SchedulerMessage::Assign(shell(1, &script)))
        .await;
    harness.send(SchedulerMessage::Drain).await;
    harness
        .send(SchedulerMessage::Assign(shell(2, "echo never")))
        .await;

    let refused = harness.collect_until_finished(task(2)).await;
    assert_eq!(refused.finished().outcome, TaskOutcome::Cancelled);
    assert_eq!(refused.finished().error.as_deref(), Some("worker draining"));
    assert!(refused.others.contains(&WorkerMessage::Credits {
        free_slots: 0,
        draining: true
    }));
    harness.send(SchedulerMessage::Ack(task(2))).await;
    std::fs::write(&go_file, "").expect("create the go file");

    let drained = harness.collect_until_finished(task(1)).await;
    assert_eq!(drained.finished().outcome, TaskOutcome::Succeeded);
    assert!(!harness.worker.is_finished());
    harness.send(SchedulerMessage::Ack(task(1))).await;
    harness.join().await.expect("a completed drain");
}

#[tokio::test]
async fn a_drain_while_no_scheduler_is_reachable_stops_an_idle_worker_at_once() {
    let mut harness = Harness::start_unregistered(|_| {});
    assert!(matches!(harness.recv().await, WorkerMessage::Register(_)));
    // The link closes before registration; no new link comes.
    let (to_worker, _) = tokio::sync::mpsc::channel(1);
    drop(std::mem::replace(&mut harness.to_worker, to_worker));
    harness.drain.send_replace(true);
    harness
        .join()
        .await
        .expect("an idle drained worker stops cleanly");
}
