//! The `shell`, `command` and `python` executor: a child process in its own session and
//! process group, isolated as the assignment asks, its usage measured.

use super::attempt_error::AttemptError;
use super::attempt_file::AttemptFile;
use super::capture::{CaptureSettings, Pipes, capture};
use super::exit::{classify, with_outputs};
use super::log_sink::LogSink;
use super::oom::with_oom;
use super::outputs::read_outputs;
use super::process_group::ProcessGroup;
use super::program::Program;
use super::spawn::spawn;
use super::supervise::{StopPolicy, supervise};
use super::{AttemptContext, CancelSignal};
use crate::isolation::{AttemptIsolation, AttemptPaths};
use crate::results::failed_without_process;
use orrery_proto::{Assignment, TaskFinished, Usage};
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long to keep reading output once the whole process group is dead: only a
/// process that left the group can still hold the pipes open, and it is not waited for.
const PIPE_DRAIN_BOUND: Duration = Duration::from_secs(1);

/// Runs `program` for the assignment and reports how it ended.
pub(super) async fn run(
    program: Program,
    assignment: &Assignment,
    context: &AttemptContext,
    cancel: CancelSignal,
) -> TaskFinished {
    let task = assignment.task;
    let output_file = match AttemptFile::create(&context.config.work_dir, &task) {
        Ok(output_file) => output_file,
        Err(error) => {
            return failed_without_process(task, error.to_string(), None, context.clock.now());
        }
    };
    let finished = run_with_output_file(program, assignment, context, cancel, &output_file).await;
    output_file.remove();
    finished
}

async fn run_with_output_file(
    program: Program,
    assignment: &Assignment,
    context: &AttemptContext,
    cancel: CancelSignal,
    output_file: &AttemptFile,
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
    // Without a directory of its own choosing, a task starts in its attempt's
    // directory, never in the worker's (or the server's) working directory.
    let working_dir = assignment
        .working_dir
        .as_deref()
        .map_or_else(|| output_file.dir(), Path::new);
    let paths = AttemptPaths {
        output_file: output_file.path(),
        attempt_dir: output_file.dir(),
        working_dir,
    };
    let mut isolation = match AttemptIsolation::prepare(assignment, &context.config, paths).await {
        Ok(isolation) => isolation,
        Err(error) => return fail(error.into(), None),
    };
    let mut child = match spawn(&program, assignment, paths, &isolation) {
        Ok(child) => child,
        Err(error) => return fail(error, None),
    };
    let spawned_at = Instant::now();
    let cgroup = isolation.take_cgroup();
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
    let sink = LogSink::new(task, context.clone(), &assignment.mask);
    let mut capture_task = tokio::spawn(capture(pipes, sink, settings, stop_receiver));

    let policy = StopPolicy {
        timeout: assignment.timeout,
        kill_grace: context.config.kill_grace,
    };
    let ending = supervise(&group, policy, cancel).await;
    group.kill_remaining_and_disarm();
    if let Some(cgroup) = &cgroup {
        // Processes that left the process group are still in the cgroup.
        cgroup.kill_remaining();
    }
    let status = child.wait().await;
    let wall_time = spawned_at.elapsed();

    let drained = tokio::time::timeout(PIPE_DRAIN_BOUND, &mut capture_task).await;
    if drained.is_err() {
        tracing::debug!(
            ?task,
            "a process that left the group holds the output pipes"
        );
        let _ = stop_capture.send(());
        let _ = capture_task.await;
    }

    let measurement = match cgroup {
        Some(cgroup) => Some(cgroup.finish().await),
        None => None,
    };
    let usage = Usage {
        cpu_time: measurement.and_then(|measured| measured.cpu_time),
        peak_memory_bytes: measurement.and_then(|measured| measured.peak_memory_bytes),
        wall_time,
    };
    let status = match status {
        Ok(status) => status,
        Err(error) => {
            let mut finished = fail(AttemptError::Wait(error), Some(started_at));
            finished.usage = Some(usage);
            return finished;
        }
    };
    let mut report = classify(ending, status);
    if let Some(measurement) = &measurement {
        report = with_oom(report, ending, status, measurement);
    }
    // Outputs travel to the API and into downstream templates: no secret value in them.
    let outputs =
        read_outputs(output_file.path(), context.config.max_output_bytes).map(|outputs| {
            if assignment.mask.is_empty() {
                return outputs;
            }
            let masker = orrery_core::mask::Masker::new(&assignment.mask);
            outputs
                .into_iter()
                .map(|(key, value)| (key, masker.mask(&value)))
                .collect()
        });
    let (report, outputs) = with_outputs(report, outputs);
    tracing::debug!(?task, ?report, ?usage, "attempt ended");
    TaskFinished {
        task,
        outcome: report.outcome,
        exit_code: report.exit_code,
        outputs,
        error: report.error,
        started_at: Some(started_at),
        finished_at: context.clock.now(),
        usage: Some(usage),
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
