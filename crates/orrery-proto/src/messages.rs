//! Message types exchanged between the scheduler and a worker.

use chrono::{DateTime, Utc};
use orrery_core::ids::{RunId, TaskInstanceId};
use std::collections::BTreeMap;
use std::time::Duration;

/// Names one assignment of one task attempt. `fence` is issued by the scheduler per
/// assignment: a report carrying a fence that is no longer current (the attempt was
/// cancelled, declared lost or reassigned) is rejected, never applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskRef {
    pub task_instance_id: TaskInstanceId,
    pub attempt: u32,
    pub fence: u64,
}

/// Worker → scheduler.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkerMessage {
    /// First message on a connection.
    Register(Register),
    /// How many more tasks the worker accepts right now (absolute, not a delta).
    Credits {
        free_slots: u32,
        /// The worker drains on its own (it was asked to stop): assign nothing more.
        draining: bool,
    },
    Heartbeat,
    TaskStarted(TaskStarted),
    LogChunk(LogChunk),
    /// Re-sent until the scheduler acknowledges it.
    TaskFinished(TaskFinished),
}

/// Scheduler → worker.
#[derive(Clone, Debug, PartialEq)]
// Assignments are most of the traffic; boxing them would allocate for nothing.
#[allow(clippy::large_enum_variant)]
pub enum SchedulerMessage {
    /// Registration accepted.
    Registered {
        worker_id: String,
        /// How often the worker must send `Heartbeat`; silence for several of these
        /// (the scheduler's TTL) declares it lost.
        heartbeat_interval: Duration,
    },
    /// Registration refused (e.g. incompatible protocol version); the worker stops.
    Refused {
        reason: String,
    },
    Assign(Assignment),
    /// Stop the attempt and kill its process group.
    Cancel(TaskRef),
    /// The `TaskFinished` for this attempt was applied (or rejected for good).
    Ack(TaskRef),
    /// Take no new work; finish what runs, then disconnect.
    Drain,
}

/// A worker introduces itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Register {
    pub name: String,
    pub protocol_version: u32,
    /// Worker software version, for display.
    pub version: String,
    /// Stable across restarts of the same worker; a worker that reconnects within its
    /// TTL under the same id keeps its running attempts.
    pub worker_id: String,
    /// Tasks name the group they need (`worker: {group: gpu}`); empty means `default`.
    pub group: String,
    pub labels: BTreeMap<String, String>,
    pub capacity: Capacity,
    /// Attempts the worker still runs or holds an unacknowledged result for; any other
    /// attempt the scheduler believes it holds was lost.
    pub attempts: Vec<TaskRef>,
}

/// What a worker offers in all. Zero CPU or memory means "not limited": such a worker
/// takes any task that fits its slots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capacity {
    pub slots: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub gpus: u32,
    pub disk_bytes: u64,
}

/// What one attempt asks for; the worker enforces CPU and memory with cgroups when it can.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_millis: Option<u32>,
    pub memory_bytes: Option<u64>,
    pub gpus: u32,
}

/// How an attempt is isolated beyond its own process group and session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Isolation {
    /// Run under bubblewrap: read-only system, private /tmp and working directory.
    pub sandbox: bool,
    /// With `sandbox`, keep the network (it is cut otherwise).
    pub network: bool,
    /// Run as this user instead of the worker's.
    pub run_as: Option<String>,
}

/// One instance of a broadcast task: `ORRERY_SHARD_INDEX` of `ORRERY_SHARD_TOTAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

/// What an attempt used, measured by the worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time of the whole process tree, when the worker could measure it (cgroups).
    pub cpu_time: Option<Duration>,
    pub peak_memory_bytes: Option<u64>,
    pub wall_time: Duration,
}

/// A fully rendered task: the worker needs nothing else to run it.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub task: TaskRef,
    pub run_id: RunId,
    pub job_name: String,
    pub task_name: String,
    pub exec: ExecSpec,
    /// Includes the `ORRERY_*` variables set by the scheduler; the worker adds
    /// `ORRERY_OUTPUT`, which names a file on its own disk.
    pub env: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    pub timeout: Option<Duration>,
    pub resources: Resources,
    pub isolation: Isolation,
    pub shard: Option<Shard>,
    /// How long the worker holds the attempt before starting it: fires due shortly are
    /// sent ahead so that they start on time (see the scheduler's fire lead).
    pub start_delay: Option<Duration>,
    /// Secret values given to the task: the worker replaces each (and its base64
    /// form) with `***` in the output before it ships a line.
    pub mask: Vec<String>,
}

/// What to execute.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecSpec {
    /// `bash -c script`.
    Shell {
        script: String,
    },
    /// argv, no shell.
    Command {
        argv: Vec<String>,
    },
    /// An inline script run by `interpreter -c` (or a file run by `interpreter FILE`);
    /// the run's params are in `ORRERY_PARAMS` as JSON.
    Python {
        interpreter: String,
        source: PythonSource,
        params_json: String,
    },
    /// One HTTP request whose answer is checked.
    Http(HttpRequest),
    Noop,
}

/// Where a python task's code is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PythonSource {
    Inline(String),
    File(String),
}

/// A fully rendered HTTP request and what its answer must look like.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Accepted status codes; empty means any 2xx.
    pub expect_status: Vec<u16>,
    /// A JSON path (`$.a.b[0]`) in the response body and the value it must equal.
    pub expect_json: Option<(String, serde_json::Value)>,
    /// Largest part of the response body kept as the `body` output.
    pub max_body_bytes: usize,
}

/// The process started.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskStarted {
    pub task: TaskRef,
    pub started_at: DateTime<Utc>,
    pub pid: Option<u32>,
}

/// Which stream a log line came from (`system` lines are written by Orrery itself,
/// e.g. truncation markers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
    System,
}

impl LogStream {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
            LogStream::System => "system",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<LogStream> {
        match name {
            "stdout" => Some(LogStream::Stdout),
            "stderr" => Some(LogStream::Stderr),
            "system" => Some(LogStream::System),
            _ => None,
        }
    }
}

/// One captured line.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub stream: LogStream,
    pub text: String,
}

/// Lines in the order they were read; chunks of one attempt arrive in order.
#[derive(Clone, Debug, PartialEq)]
pub struct LogChunk {
    pub task: TaskRef,
    pub lines: Vec<LogLine>,
}

/// How an attempt ended on the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

/// The attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFinished {
    pub task: TaskRef,
    pub outcome: TaskOutcome,
    pub exit_code: Option<i32>,
    /// `key=value` lines the task wrote to `$ORRERY_OUTPUT`.
    pub outputs: BTreeMap<String, String>,
    /// Why it failed when the process could not tell (spawn error, timeout, bad output file).
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
    pub usage: Option<Usage>,
}
