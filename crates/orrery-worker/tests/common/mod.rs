//! Test harness: plays the scheduler's side of a worker's link.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

pub mod http_server;
pub mod isolation;

use chrono::{DateTime, Utc};
use nix::errno::Errno;
use nix::unistd::Pid;
use orrery_core::clock::ManualClock;
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_proto::{
    Assignment, ExecSpec, HttpRequest, LogLine, LogStream, PythonSource, SchedulerMessage,
    TaskFinished, TaskRef, TaskStarted, WorkerMessage,
};
use orrery_worker::{ChannelConnector, WorkerConfig, WorkerError, WorkerLink, run_worker};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The safety net around every wait; behaviour is awaited, never slept for.
pub const SAFETY: Duration = Duration::from_secs(30);

/// A worker under test, registered, with the scheduler's ends of its link.
pub struct Harness {
    pub to_worker: mpsc::Sender<SchedulerMessage>,
    pub from_worker: mpsc::Receiver<WorkerMessage>,
    /// Hands the worker a new link when it reconnects.
    pub links: mpsc::Sender<WorkerLink>,
    pub shutdown: watch::Sender<bool>,
    /// Asks the worker to drain on its own (as SIGTERM does).
    pub drain: watch::Sender<bool>,
    pub worker: JoinHandle<Result<(), WorkerError>>,
    pub clock: ManualClock,
    pub work_dir: TempDir,
}

/// Small limits and fast timings; resends and heartbeats are off unless a test wants them.
pub fn test_config(work_dir: &TempDir) -> WorkerConfig {
    let mut config = WorkerConfig::new("test-worker", work_dir.path());
    config.slots = 4;
    config.kill_grace = Duration::from_millis(500);
    config.log_flush_interval = Duration::from_millis(20);
    config.heartbeat_interval = Duration::from_secs(3600);
    config.result_resend_interval = Duration::from_secs(3600);
    config.max_log_bytes = 1024 * 1024;
    config.max_line_bytes = 4096;
    config
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .expect("valid timestamp")
        .with_timezone(&Utc)
}

impl Harness {
    /// Starts a worker without answering its registration.
    pub fn start_unregistered(configure: impl FnOnce(&mut WorkerConfig)) -> Self {
        let work_dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(&work_dir);
        configure(&mut config);
        let (to_worker, from_worker, link) = new_link();
        let (links, link_queue) = mpsc::channel(4);
        links.try_send(link).expect("room for the first link");
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let (drain, drain_receiver) = watch::channel(false);
        let clock = ManualClock::new(start_time());
        let worker = tokio::spawn(run_worker(
            config,
            ChannelConnector::new(link_queue),
            Arc::new(clock.clone()),
            shutdown_receiver,
            drain_receiver,
        ));
        Self {
            to_worker,
            from_worker,
            links,
            shutdown,
            drain,
            worker,
            clock,
            work_dir,
        }
    }

    /// Starts a worker and completes its registration, consuming the first credits.
    pub async fn start(configure: impl FnOnce(&mut WorkerConfig)) -> Self {
        let mut harness = Self::start_unregistered(configure);
        let register = harness.recv().await;
        assert!(
            matches!(register, WorkerMessage::Register(_)),
            "{register:?}"
        );
        harness
            .send(SchedulerMessage::Registered {
                worker_id: "w-1".to_owned(),
                heartbeat_interval: Duration::from_secs(3600),
            })
            .await;
        let credits = harness.recv().await;
        assert!(
            matches!(credits, WorkerMessage::Credits { .. }),
            "{credits:?}"
        );
        harness
    }

    /// Closes the current link and offers the worker a new one.
    pub async fn reconnect(&mut self) {
        let (to_worker, from_worker, link) = new_link();
        self.to_worker = to_worker;
        self.from_worker = from_worker;
        self.links.send(link).await.expect("the worker takes links");
    }

    pub async fn send(&self, message: SchedulerMessage) {
        self.to_worker.send(message).await.expect("worker listens");
    }

    /// The next message from the worker.
    pub async fn recv(&mut self) -> WorkerMessage {
        within(SAFETY, self.from_worker.recv())
            .await
            .expect("the worker closed its link")
    }

    /// Assigns and collects everything about the attempt until it finishes.
    pub async fn run(&mut self, assignment: Assignment) -> Attempt {
        let task = assignment.task;
        self.send(SchedulerMessage::Assign(assignment)).await;
        self.collect_until_finished(task).await
    }

    /// Collects messages until the `TaskFinished` of `task`.
    pub async fn collect_until_finished(&mut self, task: TaskRef) -> Attempt {
        let mut attempt = Attempt::default();
        self.collect_into(task, &mut attempt, |_| false).await;
        attempt
    }

    /// Collects messages about `task` into `attempt` until it finishes or `stop_when`
    /// holds for what was collected; true if it finished.
    pub async fn collect_into(
        &mut self,
        task: TaskRef,
        attempt: &mut Attempt,
        stop_when: impl Fn(&Attempt) -> bool,
    ) -> bool {
        loop {
            if stop_when(attempt) {
                return false;
            }
            match self.recv().await {
                WorkerMessage::TaskStarted(started) if started.task == task => {
                    attempt.started = Some(started);
                }
                WorkerMessage::LogChunk(chunk) if chunk.task == task => {
                    attempt.chunk_sizes.push(chunk.lines.len());
                    attempt.lines.extend(chunk.lines);
                }
                WorkerMessage::TaskFinished(finished) if finished.task == task => {
                    attempt.finished = Some(finished);
                    return true;
                }
                other => attempt.others.push(other),
            }
        }
    }

    /// Waits for `run_worker` to return.
    pub async fn join(self) -> Result<(), WorkerError> {
        within(SAFETY, self.worker).await.expect("worker task")
    }
}

/// A link and the scheduler's ends of it.
fn new_link() -> (
    mpsc::Sender<SchedulerMessage>,
    mpsc::Receiver<WorkerMessage>,
    WorkerLink,
) {
    let (to_worker, inbound) = mpsc::channel(64);
    let (outbound, from_worker) = mpsc::channel(64);
    (to_worker, from_worker, WorkerLink { outbound, inbound })
}

/// What the worker said about one attempt.
#[derive(Debug, Default)]
pub struct Attempt {
    pub started: Option<TaskStarted>,
    pub lines: Vec<LogLine>,
    pub chunk_sizes: Vec<usize>,
    pub finished: Option<TaskFinished>,
    pub others: Vec<WorkerMessage>,
}

impl Attempt {
    pub fn finished(&self) -> &TaskFinished {
        self.finished.as_ref().expect("the attempt finished")
    }

    pub fn text(&self, stream: LogStream) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|line| line.stream == stream)
            .map(|line| line.text.as_str())
            .collect()
    }

    pub fn stdout(&self) -> Vec<&str> {
        self.text(LogStream::Stdout)
    }

    /// The first stdout line parsed as a pid (scripts `echo $!` first).
    pub fn first_pid(&self) -> Option<i32> {
        self.stdout()
            .first()
            .and_then(|line| line.trim().parse().ok())
    }
}

pub fn task(id: i64) -> TaskRef {
    TaskRef {
        task_instance_id: TaskInstanceId(id),
        attempt: 1,
        fence: 100 + id as u64,
    }
}

pub fn assignment(id: i64, exec: ExecSpec) -> Assignment {
    Assignment {
        task: task(id),
        run_id: RunId(1),
        job_name: "job".to_owned(),
        task_name: format!("task-{id}"),
        exec,
        env: BTreeMap::new(),
        working_dir: None,
        timeout: None,
        resources: Default::default(),
        isolation: Default::default(),
        shard: None,
        start_delay: None,
        mask: Vec::new(),
    }
}

pub fn shell(id: i64, script: &str) -> Assignment {
    assignment(
        id,
        ExecSpec::Shell {
            script: script.to_owned(),
        },
    )
}

pub fn http(id: i64, request: HttpRequest) -> Assignment {
    assignment(id, ExecSpec::Http(request))
}

/// A GET of `url` expecting any 2xx, with a 64 KiB body cap.
pub fn http_get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".to_owned(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: None,
        expect_status: Vec::new(),
        expect_json: None,
        max_body_bytes: 64 * 1024,
    }
}

pub fn python(id: i64, source: PythonSource, params_json: &str) -> Assignment {
    python_with(id, "python3", source, params_json)
}

pub fn python_with(
    id: i64,
    interpreter: &str,
    source: PythonSource,
    params_json: &str,
) -> Assignment {
    assignment(
        id,
        ExecSpec::Python {
            interpreter: interpreter.to_owned(),
            source,
            params_json: params_json.to_owned(),
        },
    )
}

pub fn command(id: i64, argv: &[&str]) -> Assignment {
    let argv = argv.iter().map(|arg| (*arg).to_owned()).collect();
    assignment(id, ExecSpec::Command { argv })
}

/// Awaits `future`, failing the test if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("timed out waiting (safety net)")
}

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
pub async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `pid` is a live process. A zombie (killed, not yet reaped by whatever
/// adopted it) counts as dead.
pub fn process_alive(pid: i32) -> bool {
    if nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH) {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Asserts that `pid` is gone within five seconds.
pub async fn assert_process_gone(pid: i32) {
    assert!(
        eventually(Duration::from_secs(5), || !process_alive(pid)).await,
        "process {pid} is still alive"
    );
}
