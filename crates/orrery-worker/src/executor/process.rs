//! The `shell`, `command` and `python` executor: a child process in its own process group.

use super::attempt_dir::AttemptDir;
use super::attempt_error::AttemptError;
use super::capture::{CaptureSettings, Pipes, capture};
use super::exit::{classify, with_outputs};
use super::log_sink::LogSink;
use super::outputs::read_outputs;
use super::process_group::ProcessGroup;
use super::supervise::{StopPolicy, supervise};
use super::{AttemptContext, CancelSignal};
use crate::results::failed_without_process;
use orrery_proto::{Assignment, PythonSource, TaskFinished};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::oneshot;

/// How long to keep reading output once the whole process group is dead: only a
/// process that left the group can still hold the pipes open, and it is not waited for.
const PIPE_DRAIN_BOUND: Duration = Duration::from_secs(1);

/// The program and arguments to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Program {
    program: String,
    args: Vec<String>,
    /// Set on top of the assignment's environment.
    extra_env: Vec<(String, String)>,
    /// Whether `program` is a python task's interpreter, named so in a spawn error.
    is_interpreter: bool,
}

impl Program {
    /// `bash -c script`.
    pub(super) fn shell(script: &str) -> Self {
        Self {
            program: "bash".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            extra_env: Vec::new(),
            is_interpreter: false,
        }
    }

    /// argv\[0\] with the rest as arguments, no shell.
    pub(super) fn command(argv: &[String]) -> Result<Self, AttemptError> {
        let (program, args) = argv.split_first().ok_or(AttemptError::EmptyArgv)?;
        Ok(Self {
            program: program.clone(),
            args: args.to_vec(),
            extra_env: Vec::new(),
            is_interpreter: false,
        })
    }

    /// `interpreter -c script` or `interpreter file`, with the run's params as JSON in
    /// `ORRERY_PARAMS`.
    pub(super) fn python(
        interpreter: &str,
        source: &PythonSource,
        params_json: &str,
    ) -> Result<Self, AttemptError> {
        if interpreter.trim().is_empty() {
            return Err(AttemptError::EmptyInterpreter);
        }
        let args = match source {
            PythonSource::Inline(script) => vec!["-c".to_owned(), script.clone()],
            PythonSource::File(file) => vec![file.clone()],
        };
        Ok(Self {
            program: interpreter.to_owned(),
            args,
            extra_env: vec![("ORRERY_PARAMS".to_owned(), params_json.to_owned())],
            is_interpreter: true,
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
            let error = if program.is_interpreter {
                AttemptError::SpawnInterpreter {
                    interpreter: program.program,
                    source,
                }
            } else {
                AttemptError::Spawn {
                    program: program.program,
                    source,
                }
            };
            return fail(error, None);
        }
    };
    let pid = child.id();
    let started_at = context.send_started(task, pid).await;
    let Some(mut group) = pid.and_then(ProcessGroup::new) else {
        // Only a child already reaped has no pid, which cannot happen right after spawn.
        let error = std::io::Error::other("the child process has no pid");
        return fail(AttemptError::Wait(error), Some(started_at));
    };
    tracing::debug!(?task, pid, "attempt started");

    let (stop_capture, stop_receiver) = oneshot::channel();
    let pipes = Pipes {
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
    };
    let settings = CaptureSettings {
        max_line_bytes: context.config.max_line_bytes,
        flush_interval: context.config.log_flush_interval,
    };
    let sink = LogSink::new(task, context.clone());
    let mut capture_task = tokio::spawn(capture(pipes, sink, settings, stop_receiver));

    let policy = StopPolicy {
        timeout: assignment.timeout,
        kill_grace: context.config.kill_grace,
    };
    let ending = supervise(&group, policy, cancel).await;
    group.kill_remaining_and_disarm();
    let status = child.wait().await;

    let drained = tokio::time::timeout(PIPE_DRAIN_BOUND, &mut capture_task).await;
    if drained.is_err() {
        tracing::debug!(
            ?task,
            "a process that left the group holds the output pipes"
        );
        let _ = stop_capture.send(());
        let _ = capture_task.await;
    }

    let status = match status {
        Ok(status) => status,
        Err(error) => return fail(AttemptError::Wait(error), Some(started_at)),
    };
    let outputs = read_outputs(dir.output_path(), context.config.max_output_bytes);
    let (report, outputs) = with_outputs(classify(ending, status), outputs);
    tracing::debug!(?task, ?report, "attempt ended");
    TaskFinished {
        task,
        outcome: report.outcome,
        exit_code: report.exit_code,
        outputs,
        error: report.error,
        started_at: Some(started_at),
        finished_at: context.clock.now(),
    }
}

fn check_working_dir(path: &str) -> Result<(), AttemptError> {
    let path_owned = || path.to_owned();
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(AttemptError::WorkingDirNotADirectory { path: path_owned() }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(AttemptError::WorkingDirMissing { path: path_owned() })
        }
        Err(source) => Err(AttemptError::WorkingDirUnreadable {
            path: path_owned(),
            source,
        }),
    }
}

fn build_command(program: &Program, assignment: &Assignment, output_path: &Path) -> Command {
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .envs(&assignment.env)
        .envs(program.extra_env.iter().map(|(key, value)| (key, value)))
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
