//! Running one attempt: dispatch on the task type, each type in its own module.

mod attempt_error;
mod attempt_file;
mod cancel;
mod capture;
mod exit;
mod http;
mod line_splitter;
mod log_sink;
mod oom;
mod outputs;
mod process;
mod process_group;
mod program;
mod spawn;
mod supervise;

pub(crate) use cancel::CancelSignal;
pub(crate) use http::HttpClient;

use crate::config::WorkerConfig;
use crate::results::failed_without_process;
use attempt_error::AttemptError;
use orrery_core::clock::Clock;
use orrery_proto::{
    Assignment, ExecSpec, HttpRequest, TaskFinished, TaskOutcome, TaskRef, TaskStarted,
    WorkerMessage,
};
use program::Program;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What every attempt gets from the worker.
#[derive(Clone)]
pub(crate) struct AttemptContext {
    pub(crate) config: Arc<WorkerConfig>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) outbound: mpsc::Sender<WorkerMessage>,
    /// Shared by the worker's `http` attempts.
    pub(crate) http: HttpClient,
}

impl AttemptContext {
    /// Sends a message about the attempt; a scheduler that stopped listening is the
    /// main loop's concern, so a failed send is not an attempt failure.
    async fn send(&self, message: WorkerMessage) {
        if self.outbound.send(message).await.is_err() {
            tracing::debug!("the scheduler link closed; dropping an attempt message");
        }
    }

    async fn send_started(&self, task: TaskRef, pid: Option<u32>) -> chrono::DateTime<chrono::Utc> {
        let started_at = self.clock.now();
        self.send(WorkerMessage::TaskStarted(TaskStarted {
            task,
            started_at,
            pid,
        }))
        .await;
        started_at
    }
}

/// How an attempt is carried out, chosen from its `ExecSpec`.
enum Executor<'spec> {
    /// Succeeds at once without a process.
    Noop,
    /// A child process in its own session and process group, isolated (`shell`,
    /// `command` and `python` tasks).
    Process(Program),
    /// One HTTP request, no process.
    Http(&'spec HttpRequest),
}

impl<'spec> Executor<'spec> {
    fn for_spec(exec: &'spec ExecSpec) -> Result<Self, AttemptError> {
        match exec {
            ExecSpec::Noop => Ok(Executor::Noop),
            ExecSpec::Shell { script } => Ok(Executor::Process(Program::shell(script))),
            ExecSpec::Command { argv } => Program::command(argv).map(Executor::Process),
            ExecSpec::Python {
                interpreter,
                source,
                params_json,
            } => Program::python(interpreter, source, params_json).map(Executor::Process),
            ExecSpec::Http(request) => Ok(Executor::Http(request)),
        }
    }
}

/// Runs the attempt to its end and returns the report; never panics on bad input.
pub(crate) async fn execute(
    assignment: Assignment,
    context: AttemptContext,
    mut cancel: CancelSignal,
) -> TaskFinished {
    let task = assignment.task;
    // A fire sent ahead of its time waits here, holding its slot, and starts on time.
    if let Some(delay) = assignment.start_delay.filter(|d| !d.is_zero()) {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cancel.cancelled() => {
                let error = "cancelled before its start time".to_owned();
                let mut finished = failed_without_process(task, error, None, context.clock.now());
                finished.outcome = TaskOutcome::Cancelled;
                return finished;
            }
        }
    }
    match Executor::for_spec(&assignment.exec) {
        Ok(Executor::Noop) => run_noop(task, &context).await,
        Ok(Executor::Process(program)) => {
            process::run(program, &assignment, &context, cancel).await
        }
        Ok(Executor::Http(request)) => http::run(request, &assignment, &context, cancel).await,
        Err(error) => failed_without_process(task, error.to_string(), None, context.clock.now()),
    }
}

async fn run_noop(task: TaskRef, context: &AttemptContext) -> TaskFinished {
    let started_at = context.send_started(task, None).await;
    TaskFinished {
        task,
        outcome: TaskOutcome::Succeeded,
        exit_code: None,
        outputs: BTreeMap::new(),
        error: None,
        started_at: Some(started_at),
        finished_at: context.clock.now(),
        usage: None,
    }
}
