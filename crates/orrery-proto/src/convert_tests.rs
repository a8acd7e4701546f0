//! Every message survives encoding and decoding unchanged; malformed frames name the field.

use crate::convert::DecodeError;
use crate::messages::*;
use crate::pb;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("valid time")
}

fn task() -> TaskRef {
    TaskRef {
        task_instance_id: TaskInstanceId(42),
        attempt: 3,
        fence: 9,
    }
}

fn worker_round_trip(message: WorkerMessage) {
    let frame = pb::WorkerFrame::from(message.clone());
    let bytes = prost::Message::encode_to_vec(&frame);
    let decoded: pb::WorkerFrame = prost::Message::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(WorkerMessage::try_from(decoded), Ok(message));
}

fn scheduler_round_trip(message: SchedulerMessage) {
    let frame = pb::SchedulerFrame::from(message.clone());
    let bytes = prost::Message::encode_to_vec(&frame);
    let decoded: pb::SchedulerFrame = prost::Message::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(SchedulerMessage::try_from(decoded), Ok(message));
}

#[test]
fn worker_messages_round_trip() {
    worker_round_trip(WorkerMessage::Register(Register {
        name: "w1".into(),
        protocol_version: 1,
        version: "0.1.0".into(),
        worker_id: "id-1".into(),
        group: "gpu".into(),
        labels: BTreeMap::from([("zone".into(), "a".into())]),
        capacity: Capacity {
            slots: 4,
            cpu_millis: 2000,
            memory_bytes: 1 << 30,
            gpus: 1,
            disk_bytes: 5,
        },
        attempts: vec![task()],
    }));
    worker_round_trip(WorkerMessage::Credits {
        free_slots: 3,
        draining: true,
    });
    worker_round_trip(WorkerMessage::Heartbeat);
    worker_round_trip(WorkerMessage::TaskStarted(TaskStarted {
        task: task(),
        started_at: at(1_700_000_000_123_456),
        pid: Some(77),
    }));
    worker_round_trip(WorkerMessage::LogChunk(LogChunk {
        task: task(),
        lines: vec![
            LogLine {
                at: at(1),
                stream: LogStream::Stdout,
                text: "out".into(),
            },
            LogLine {
                at: at(2),
                stream: LogStream::System,
                text: "sys".into(),
            },
        ],
    }));
    worker_round_trip(WorkerMessage::TaskFinished(TaskFinished {
        task: task(),
        outcome: TaskOutcome::TimedOut,
        exit_code: Some(-9),
        outputs: BTreeMap::from([("k".into(), "v".into())]),
        error: Some("timed out".into()),
        started_at: Some(at(5)),
        finished_at: at(6),
        usage: Some(Usage {
            cpu_time: Some(Duration::from_millis(1500)),
            peak_memory_bytes: Some(1 << 20),
            wall_time: Duration::from_millis(2000),
        }),
    }));
}

#[test]
fn scheduler_messages_round_trip() {
    scheduler_round_trip(SchedulerMessage::Registered {
        worker_id: "id-1".into(),
        heartbeat_interval: Duration::from_secs(2),
    });
    scheduler_round_trip(SchedulerMessage::Refused {
        reason: "old".into(),
    });
    scheduler_round_trip(SchedulerMessage::Cancel(task()));
    scheduler_round_trip(SchedulerMessage::Ack(task()));
    scheduler_round_trip(SchedulerMessage::Drain);
    let execs = [
        ExecSpec::Shell {
            script: "echo hi".into(),
        },
        ExecSpec::Command {
            argv: vec!["true".into()],
        },
        ExecSpec::Python {
            interpreter: "python3".into(),
            source: PythonSource::File("x.py".into()),
            params_json: "{}".into(),
        },
        ExecSpec::Http(HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:1/x".into(),
            headers: vec![("a".into(), "b".into())],
            body: Some("{}".into()),
            expect_status: vec![200, 204],
            expect_json: Some(("$.ok".into(), serde_json::json!(true))),
            max_body_bytes: 100,
        }),
        ExecSpec::Noop,
    ];
    for exec in execs {
        scheduler_round_trip(SchedulerMessage::Assign(Assignment {
            task: task(),
            run_id: RunId(7),
            job_name: "job".into(),
            task_name: "t".into(),
            exec,
            env: BTreeMap::from([("ORRERY_RUN_ID".into(), "7".into())]),
            working_dir: Some("/tmp".into()),
            timeout: Some(Duration::from_secs(30)),
            resources: Resources {
                cpu_millis: Some(500),
                memory_bytes: Some(64 << 20),
                gpus: 0,
            },
            isolation: Isolation {
                sandbox: true,
                network: false,
                run_as: Some("nobody".into()),
            },
            shard: Some(Shard { index: 1, total: 3 }),
            start_delay: Some(Duration::from_micros(250_500)),
            mask: vec!["hunter2".to_owned()],
        }));
    }
}

#[test]
fn malformed_frames_name_the_field() {
    let empty = pb::WorkerFrame { message: None };
    assert_eq!(
        WorkerMessage::try_from(empty),
        Err(DecodeError::Missing("message"))
    );
    let no_task = pb::WorkerFrame {
        message: Some(pb::worker_frame::Message::TaskStarted(pb::TaskStarted {
            task: None,
            started_at: 0,
            pid: None,
        })),
    };
    assert_eq!(
        WorkerMessage::try_from(no_task),
        Err(DecodeError::Missing("task"))
    );
    let bad_outcome = pb::WorkerFrame {
        message: Some(pb::worker_frame::Message::TaskFinished(pb::TaskFinished {
            task: Some(task().into()),
            outcome: 99,
            ..Default::default()
        })),
    };
    let error = WorkerMessage::try_from(bad_outcome).expect_err("refused");
    assert!(error.to_string().contains("outcome"), "{error}");
}

/// The committed generated code was produced from the committed `.proto` file: edit the
/// file and forget `scripts/gen-proto`, and this fails.
#[test]
fn generated_code_matches_the_proto_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let proto = std::fs::read(dir.join("proto/worker.proto")).expect("proto file");
    let recorded =
        std::fs::read_to_string(dir.join("src/pb/worker.proto.sha256")).expect("recorded hash");
    let actual: String = Sha256::digest(proto)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        recorded.trim(),
        actual,
        "proto/worker.proto changed: run scripts/gen-proto"
    );
}
