//! Conversions between the protocol's messages and their gRPC (protobuf) encoding.
//!
//! Encoding never fails; decoding names the first missing or invalid field, so a peer
//! that sends a malformed frame gets a precise refusal instead of a panic.

use crate::messages::{
    Assignment, Capacity, ExecSpec, HttpRequest, Isolation, LogChunk, LogLine, LogStream,
    PythonSource, Register, Resources, SchedulerMessage, Shard, TaskFinished, TaskOutcome, TaskRef,
    TaskStarted, Usage, WorkerMessage,
};
use crate::pb;
use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use std::time::Duration;

/// A frame that cannot be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame field `{0}` is missing")]
    Missing(&'static str),
    #[error("frame field `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(field: &'static str, value: i64) -> Result<DateTime<Utc>, DecodeError> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| DecodeError::Invalid {
        field,
        reason: format!("{value} µs is not a representable time"),
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn required<T>(field: &'static str, value: Option<T>) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::Missing(field))
}

impl From<TaskRef> for pb::TaskRef {
    fn from(task: TaskRef) -> Self {
        Self {
            task_instance_id: task.task_instance_id.0,
            attempt: task.attempt,
            fence: task.fence,
        }
    }
}

impl From<pb::TaskRef> for TaskRef {
    fn from(task: pb::TaskRef) -> Self {
        Self {
            task_instance_id: TaskInstanceId(task.task_instance_id),
            attempt: task.attempt,
            fence: task.fence,
        }
    }
}

fn task_ref(value: Option<pb::TaskRef>) -> Result<TaskRef, DecodeError> {
    required("task", value).map(TaskRef::from)
}

impl From<WorkerMessage> for pb::WorkerFrame {
    fn from(message: WorkerMessage) -> Self {
        use pb::worker_frame::Message as M;
        let message = match message {
            WorkerMessage::Register(register) => M::Register(pb::Register {
                name: register.name,
                protocol_version: register.protocol_version,
                version: register.version,
                worker_id: register.worker_id,
                group: register.group,
                labels: register.labels.into_iter().collect(),
                capacity: Some(pb::Capacity {
                    slots: register.capacity.slots,
                    cpu_millis: register.capacity.cpu_millis,
                    memory_bytes: register.capacity.memory_bytes,
                    gpus: register.capacity.gpus,
                    disk_bytes: register.capacity.disk_bytes,
                }),
                attempts: register.attempts.into_iter().map(Into::into).collect(),
            }),
            WorkerMessage::Credits {
                free_slots,
                draining,
            } => M::Credits(pb::Credits {
                free_slots,
                draining,
            }),
            WorkerMessage::Heartbeat => M::Heartbeat(pb::Heartbeat {}),
            WorkerMessage::TaskStarted(started) => M::TaskStarted(pb::TaskStarted {
                task: Some(started.task.into()),
                started_at: micros(started.started_at),
                pid: started.pid,
            }),
            WorkerMessage::LogChunk(chunk) => M::LogChunk(pb::LogChunk {
                task: Some(chunk.task.into()),
                lines: chunk
                    .lines
                    .into_iter()
                    .map(|line| pb::LogLine {
                        at: micros(line.at),
                        stream: log_stream_code(line.stream).into(),
                        text: line.text,
                    })
                    .collect(),
            }),
            WorkerMessage::TaskFinished(finished) => M::TaskFinished(encode_finished(finished)),
        };
        Self {
            message: Some(message),
        }
    }
}

fn log_stream_code(stream: LogStream) -> pb::LogStream {
    match stream {
        LogStream::Stdout => pb::LogStream::Stdout,
        LogStream::Stderr => pb::LogStream::Stderr,
        LogStream::System => pb::LogStream::System,
    }
}

fn encode_finished(finished: TaskFinished) -> pb::TaskFinished {
    let outcome = match finished.outcome {
        TaskOutcome::Succeeded => pb::TaskOutcome::Succeeded,
        TaskOutcome::Failed => pb::TaskOutcome::Failed,
        TaskOutcome::TimedOut => pb::TaskOutcome::TimedOut,
        TaskOutcome::Cancelled => pb::TaskOutcome::Cancelled,
    };
    pb::TaskFinished {
        task: Some(finished.task.into()),
        outcome: outcome.into(),
        exit_code: finished.exit_code,
        outputs: finished.outputs.into_iter().collect(),
        error: finished.error,
        started_at: finished.started_at.map(micros),
        finished_at: micros(finished.finished_at),
        usage: finished.usage.map(|usage| pb::Usage {
            cpu_time_ms: usage.cpu_time.map(millis),
            peak_memory_bytes: usage.peak_memory_bytes,
            wall_ms: millis(usage.wall_time),
        }),
    }
}

impl TryFrom<pb::WorkerFrame> for WorkerMessage {
    type Error = DecodeError;

    fn try_from(frame: pb::WorkerFrame) -> Result<Self, DecodeError> {
        use pb::worker_frame::Message as M;
        Ok(match required("message", frame.message)? {
            M::Register(register) => {
                let capacity = register.capacity.unwrap_or_default();
                WorkerMessage::Register(Register {
                    name: register.name,
                    protocol_version: register.protocol_version,
                    version: register.version,
                    worker_id: register.worker_id,
                    group: register.group,
                    labels: register.labels.into_iter().collect(),
                    capacity: Capacity {
                        slots: capacity.slots,
                        cpu_millis: capacity.cpu_millis,
                        memory_bytes: capacity.memory_bytes,
                        gpus: capacity.gpus,
                        disk_bytes: capacity.disk_bytes,
                    },
                    attempts: register.attempts.into_iter().map(Into::into).collect(),
                })
            }
            M::Credits(credits) => WorkerMessage::Credits {
                free_slots: credits.free_slots,
                draining: credits.draining,
            },
            M::Heartbeat(_) => WorkerMessage::Heartbeat,
            M::TaskStarted(started) => WorkerMessage::TaskStarted(TaskStarted {
                task: task_ref(started.task)?,
                started_at: from_micros("started_at", started.started_at)?,
                pid: started.pid,
            }),
            M::LogChunk(chunk) => WorkerMessage::LogChunk(LogChunk {
                task: task_ref(chunk.task)?,
                lines: chunk
                    .lines
                    .into_iter()
                    .map(decode_line)
                    .collect::<Result<_, _>>()?,
            }),
            M::TaskFinished(finished) => WorkerMessage::TaskFinished(decode_finished(finished)?),
        })
    }
}

fn decode_line(line: pb::LogLine) -> Result<LogLine, DecodeError> {
    let stream = match pb::LogStream::try_from(line.stream) {
        Ok(pb::LogStream::Stdout) => LogStream::Stdout,
        Ok(pb::LogStream::Stderr) => LogStream::Stderr,
        Ok(pb::LogStream::System) => LogStream::System,
        Ok(pb::LogStream::Unspecified) | Err(_) => {
            return Err(DecodeError::Invalid {
                field: "lines.stream",
                reason: format!("unknown stream {}", line.stream),
            });
        }
    };
    Ok(LogLine {
        at: from_micros("lines.at", line.at)?,
        stream,
        text: line.text,
    })
}

fn decode_finished(finished: pb::TaskFinished) -> Result<TaskFinished, DecodeError> {
    let outcome = match pb::TaskOutcome::try_from(finished.outcome) {
        Ok(pb::TaskOutcome::Succeeded) => TaskOutcome::Succeeded,
        Ok(pb::TaskOutcome::Failed) => TaskOutcome::Failed,
        Ok(pb::TaskOutcome::TimedOut) => TaskOutcome::TimedOut,
        Ok(pb::TaskOutcome::Cancelled) => TaskOutcome::Cancelled,
        Ok(pb::TaskOutcome::Unspecified) | Err(_) => {
            return Err(DecodeError::Invalid {
                field: "outcome",
                reason: format!("unknown outcome {}", finished.outcome),
            });
        }
    };
    Ok(TaskFinished {
        task: task_ref(finished.task)?,
        outcome,
        exit_code: finished.exit_code,
        outputs: finished.outputs.into_iter().collect(),
        error: finished.error,
        started_at: finished
            .started_at
            .map(|at| from_micros("started_at", at))
            .transpose()?,
        finished_at: from_micros("finished_at", finished.finished_at)?,
        usage: finished.usage.map(|usage| Usage {
            cpu_time: usage.cpu_time_ms.map(Duration::from_millis),
            peak_memory_bytes: usage.peak_memory_bytes,
            wall_time: Duration::from_millis(usage.wall_ms),
        }),
    })
}

impl From<SchedulerMessage> for pb::SchedulerFrame {
    fn from(message: SchedulerMessage) -> Self {
        use pb::scheduler_frame::Message as M;
        let message = match message {
            SchedulerMessage::Registered {
                worker_id,
                heartbeat_interval,
            } => M::Registered(pb::Registered {
                worker_id,
                heartbeat_interval_ms: millis(heartbeat_interval),
            }),
            SchedulerMessage::Refused { reason } => M::Refused(pb::Refused { reason }),
            SchedulerMessage::Assign(assignment) => M::Assign(encode_assignment(assignment)),
            SchedulerMessage::Cancel(task) => M::Cancel(task.into()),
            SchedulerMessage::Ack(task) => M::Ack(task.into()),
            SchedulerMessage::Drain => M::Drain(pb::Drain {}),
        };
        Self {
            message: Some(message),
        }
    }
}

fn encode_assignment(assignment: Assignment) -> pb::Assignment {
    use pb::assignment::Exec;
    let exec = match assignment.exec {
        ExecSpec::Shell { script } => Exec::Shell(pb::Shell { script }),
        ExecSpec::Command { argv } => Exec::Command(pb::Command { argv }),
        ExecSpec::Python {
            interpreter,
            source,
            params_json,
        } => Exec::Python(pb::Python {
            interpreter,
            source: Some(match source {
                PythonSource::Inline(code) => pb::python::Source::Inline(code),
                PythonSource::File(path) => pb::python::Source::File(path),
            }),
            params_json,
        }),
        ExecSpec::Http(request) => Exec::Http(pb::HttpRequest {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|(name, value)| pb::Header { name, value })
                .collect(),
            body: request.body,
            expect_status: request.expect_status.into_iter().map(u32::from).collect(),
            expect_json_value: request.expect_json.as_ref().map(|(_, v)| v.to_string()),
            expect_json_path: request.expect_json.map(|(path, _)| path),
            max_body_bytes: u64::try_from(request.max_body_bytes).unwrap_or(u64::MAX),
        }),
        ExecSpec::Noop => Exec::Noop(pb::Noop {}),
    };
    pb::Assignment {
        task: Some(assignment.task.into()),
        run_id: assignment.run_id.0,
        job_name: assignment.job_name,
        task_name: assignment.task_name,
        exec: Some(exec),
        env: assignment.env.into_iter().collect(),
        working_dir: assignment.working_dir,
        timeout_ms: assignment.timeout.map(millis),
        resources: Some(pb::Resources {
            cpu_millis: assignment.resources.cpu_millis,
            memory_bytes: assignment.resources.memory_bytes,
            gpus: assignment.resources.gpus,
        }),
        isolation: Some(pb::Isolation {
            sandbox: assignment.isolation.sandbox,
            network: assignment.isolation.network,
            run_as: assignment.isolation.run_as,
        }),
        shard: assignment.shard.map(|shard| pb::Shard {
            index: shard.index,
            total: shard.total,
        }),
        start_delay_micros: assignment
            .start_delay
            .map(|delay| u64::try_from(delay.as_micros()).unwrap_or(u64::MAX)),
        mask: assignment.mask,
    }
}

impl TryFrom<pb::SchedulerFrame> for SchedulerMessage {
    type Error = DecodeError;

    fn try_from(frame: pb::SchedulerFrame) -> Result<Self, DecodeError> {
        use pb::scheduler_frame::Message as M;
        Ok(match required("message", frame.message)? {
            M::Registered(registered) => SchedulerMessage::Registered {
                worker_id: registered.worker_id,
                heartbeat_interval: Duration::from_millis(registered.heartbeat_interval_ms),
            },
            M::Refused(refused) => SchedulerMessage::Refused {
                reason: refused.reason,
            },
            M::Assign(assignment) => SchedulerMessage::Assign(decode_assignment(assignment)?),
            M::Cancel(task) => SchedulerMessage::Cancel(task.into()),
            M::Ack(task) => SchedulerMessage::Ack(task.into()),
            M::Drain(_) => SchedulerMessage::Drain,
        })
    }
}

fn decode_assignment(assignment: pb::Assignment) -> Result<Assignment, DecodeError> {
    use pb::assignment::Exec;
    let exec = match required("exec", assignment.exec)? {
        Exec::Shell(shell) => ExecSpec::Shell {
            script: shell.script,
        },
        Exec::Command(command) => ExecSpec::Command { argv: command.argv },
        Exec::Python(python) => ExecSpec::Python {
            interpreter: python.interpreter,
            source: match required("exec.python.source", python.source)? {
                pb::python::Source::Inline(code) => PythonSource::Inline(code),
                pb::python::Source::File(path) => PythonSource::File(path),
            },
            params_json: python.params_json,
        },
        Exec::Http(request) => ExecSpec::Http(decode_http(request)?),
        Exec::Noop(_) => ExecSpec::Noop,
    };
    let resources = assignment.resources.unwrap_or_default();
    let isolation = assignment.isolation.unwrap_or_default();
    Ok(Assignment {
        task: task_ref(assignment.task)?,
        run_id: RunId(assignment.run_id),
        job_name: assignment.job_name,
        task_name: assignment.task_name,
        exec,
        env: assignment.env.into_iter().collect(),
        working_dir: assignment.working_dir,
        timeout: assignment.timeout_ms.map(Duration::from_millis),
        resources: Resources {
            cpu_millis: resources.cpu_millis,
            memory_bytes: resources.memory_bytes,
            gpus: resources.gpus,
        },
        isolation: Isolation {
            sandbox: isolation.sandbox,
            network: isolation.network,
            run_as: isolation.run_as,
        },
        shard: assignment.shard.map(|shard| Shard {
            index: shard.index,
            total: shard.total,
        }),
        start_delay: assignment.start_delay_micros.map(Duration::from_micros),
        mask: assignment.mask,
    })
}

fn decode_http(request: pb::HttpRequest) -> Result<HttpRequest, DecodeError> {
    let expect_status = request
        .expect_status
        .into_iter()
        .map(|code| {
            u16::try_from(code).map_err(|_| DecodeError::Invalid {
                field: "exec.http.expect_status",
                reason: format!("{code} is not an HTTP status"),
            })
        })
        .collect::<Result<_, _>>()?;
    let expect_json = match (request.expect_json_path, request.expect_json_value) {
        (Some(path), Some(value)) => {
            let value = serde_json::from_str(&value).map_err(|e| DecodeError::Invalid {
                field: "exec.http.expect_json_value",
                reason: e.to_string(),
            })?;
            Some((path, value))
        }
        _ => None,
    };
    Ok(HttpRequest {
        method: request.method,
        url: request.url,
        headers: request
            .headers
            .into_iter()
            .map(|header| (header.name, header.value))
            .collect(),
        body: request.body,
        expect_status,
        expect_json,
        max_body_bytes: usize::try_from(request.max_body_bytes).unwrap_or(usize::MAX),
    })
}
