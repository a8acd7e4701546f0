//! The `shell` and `command` executor: a child process in its own process group.

use super::attempt_dir::AttemptDir;
use super::attempt_error::AttemptError;
use super::capture::{CaptureSettings, capture};
use super::exit::{Ending, ExitReport, classify};
use super::log_sink::LogSink;
use super::outputs::read_outputs;
use super::process_group::ProcessGroup;
use super::{AttemptContext, CancelSignal};
use crate::results::failed_without_process;
use chrono::{DateTime, Utc};
use nix::sys::signal::Signal;
use orrery_proto::{Assignment, TaskFinished, TaskOutcome};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long to keep reading output once the whole process group is dead: only a
/// process that left the group can still hold the pipes open, and it is not waited for.
const PIPE_DRAIN_BOUND: Duration = Duration::from_secs(1);

/// The program and arguments to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Program {
    program: String,
    args: Vec<String>,
}

impl Program {
    /// `bash -c script`.
    pub(super) fn shell(script: &str) -> Self {
        Self {
            program: "bash".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
        }
    }

    /// argv\[0\] with the rest as arguments, no shell.
    pub(super) fn command(argv: &[String]) -> Result<Self, AttemptError> {
        let (program, args) = argv.split_first().ok_or(AttemptError::EmptyArgv)?;
        Ok(Self {
            program: program.clone(),
            args: args.to_vec(),
        })
    }
}

/// Runs `program` for the assignment and reports how it ended.
pub(super) async fn run(
    program: Program,
    assignment: &Assignment,
    context: &AttemptContext,
    cancel: CancelSignal,
) -> TaskFinished {
    let task = assignment.task;
    let dir = match AttemptDir::create(&context.config.work_dir, &task) {
        Ok(dir) => dir,
        Err(error) => {
            return failed_without_process(task, error.to_string(), None, context.clock.now());
        }
    };
    let finished = run_in_dir(program, assignment, context, cancel, &dir).await;
    dir.remove();
    finished
}

async fn run_in_dir(
    program: Program,
    assignment: &Assignment,
    context: &AttemptContext,
    cancel: CancelSignal,
    dir: &AttemptDir,
) -> TaskFinished {
    let task = assignment.task;
    let fail = |error: AttemptError, started_at| {
        failed_without_process(task, error.to_string(), started_at, context.clock.now())
    };
    if let Some(working_dir) = &assignment.working_dir
        && let Err(error) = check_working_dir(working_dir)
    {
        return fail(error, None);
    }
    let mut child = match build_command(&program, assignment, dir.output_path()).spawn() {
        Ok(child) => child,
        Err(source) => {
            let error = AttemptError::Spawn {
                program: program.program,
                source,
            };
            return fail(error, None);
        }
    };
    let pid = child.id();
    let started_at = context.send_started(task, pid).await;
    let Some(mut group) = pid.and_then(ProcessGroup::new) else {
        // Only a child already reaped has no pid; nothing is left to supervise.
        let status = child.wait().await;
        return fail(
            AttemptError::Wait(status.err().unwrap_or_else(missing_pid)),
            Some(started_at),
        );
    };

    let (stop_capture, stop_receiver) = oneshot::channel();
    let settings = CaptureSettings {
        max_line_bytes: context.config.max_line_bytes,
        flush_interval: context.config.log_flush_interval,
    };
    let sink = LogSink::new(task, context.clone());
    let mut capture_task: JoinHandle<()> = tokio::spawn(capture(
        child.stdout.take(),
        child.stderr.take(),
        sink,
        settings,
        stop_receiver,
    ));

    let ending = supervise(
        &group,
        assignment.timeout,
        context.config.kill_grace,
        cancel,
    )
    .await;
    group.kill_remaining_and_disarm();
    let status = child.wait().await;

    if tokio::time::timeout(PIPE_DRAIN_BOUND, &mut capture_task)
        .await
        .is_err()
    {
        tracing::debug!(
            ?task,
            "a process outside the group holds the output pipes; stop reading"
        );
        let _ = stop_capture.send(());
        let _ = capture_task.await;
    }

    let status = match status {
        Ok(status) => status,
        Err(error) => return fail(AttemptError::Wait(error), Some(started_at)),
    };
    let report = classify(ending, status);
    let outputs = read_outputs(dir.output_path(), context.config.max_output_bytes)
        .map_err(AttemptError::from);
    finished(
        task_report(task, report, outputs),
        started_at,
        context.clock.now(),
    )
}

fn missing_pid() -> std::io::Error {
    std::io::Error::other("the child process has no pid")
}

fn check_working_dir(path: &str) -> Result<(), AttemptError> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(AttemptError::WorkingDirNotADirectory {
            path: path.to_owned(),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(AttemptError::WorkingDirMissing {
                path: path.to_owned(),
            })
        }
        Err(source) => Err(AttemptError::WorkingDirUnreadable {
            path: path.to_owned(),
            source,
        }),
    }
}

fn build_command(program: &Program, assignment: &Assignment, output_path: &Path) -> Command {
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .envs(&assignment.env)
        .env("ORRERY_OUTPUT", output_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(working_dir) = &assignment.working_dir {
        command.current_dir(working_dir);
    }
    command
}

/// Waits for the leader to exit, the timeout or a cancel; on the latter two, stops the
/// group with SIGTERM and, after the grace period, SIGKILL. Returns once the leader has
/// exited (it is left unreaped).
async fn supervise(
    group: &ProcessGroup,
    timeout: Option<Duration>,
    kill_grace: Duration,
    mut cancel: CancelSignal,
) -> Ending {
    let mut leader_exit = group.wait_for_leader_exit();
    let deadline = async {
        match timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    let ending = tokio::select! {
        _ = &mut leader_exit => return Ending::Exited,
        () = deadline => Ending::TimedOut(timeout.unwrap_or_default()),
        () = cancel.cancelled() => Ending::Cancelled,
    };
    group.signal(Signal::SIGTERM);
    if tokio::time::timeout(kill_grace, &mut leader_exit)
        .await
        .is_err()
    {
        group.signal(Signal::SIGKILL);
        let _ = leader_exit.await;
    }
    ending
}

/// The outcome once the output file is taken into account: a bad file fails an
/// attempt that otherwise succeeded, and is named as the error of one that failed
/// without another explanation.
struct TaskReport {
    task: orrery_proto::TaskRef,
    outcome: TaskOutcome,
    exit_code: Option<i32>,
    error: Option<String>,
    outputs: BTreeMap<String, String>,
}

fn task_report(
    task: orrery_proto::TaskRef,
    report: ExitReport,
    outputs: Result<BTreeMap<String, String>, AttemptError>,
) -> TaskReport {
    let ExitReport {
        mut outcome,
        exit_code,
        mut error,
    } = report;
    let outputs = match outputs {
        Ok(outputs) => outputs,
        Err(output_error) => {
            if outcome == TaskOutcome::Succeeded {
                outcome = TaskOutcome::Failed;
            }
            error.get_or_insert_with(|| output_error.to_string());
            BTreeMap::new()
        }
    };
    TaskReport {
        task,
        outcome,
        exit_code,
        error,
        outputs,
    }
}

fn finished(
    report: TaskReport,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
) -> TaskFinished {
    TaskFinished {
        task: report.task,
        outcome: report.outcome,
        exit_code: report.exit_code,
        outputs: report.outputs,
        error: report.error,
        started_at: Some(started_at),
        finished_at,
    }
}
