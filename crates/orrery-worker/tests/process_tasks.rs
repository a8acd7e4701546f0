//! Shell, command and noop attempts run as real processes: logs, exit codes, env, outputs.

mod common;

use common::{Harness, command, shell, start_time, task};
use orrery_proto::{ExecSpec, LogStream, SchedulerMessage, TaskOutcome, WorkerMessage};
use std::collections::BTreeMap;

#[tokio::test]
async fn stdout_and_stderr_lines_are_captured_in_order_with_their_streams() {
    let mut harness = Harness::start(|_| {}).await;
    let script = "echo one; echo two >&2; echo three; printf 'crlf\\r\\n'; printf 'no newline' >&2";
    let attempt = harness.run(shell(1, script)).await;

    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded);
    assert_eq!(finished.exit_code, Some(0));
    assert_eq!(finished.error, None);
    assert_eq!(attempt.stdout(), ["one", "three", "crlf"]);
    assert_eq!(attempt.text(LogStream::Stderr), ["two", "no newline"]);
    assert!(attempt.lines.iter().all(|line| line.at == start_time()));

    let started = attempt
        .started
        .as_ref()
        .expect("TaskStarted before TaskFinished");
    assert!(started.pid.is_some());
    assert_eq!(finished.started_at, Some(started.started_at));
}

#[tokio::test]
async fn env_is_passed_and_outputs_are_parsed() {
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = shell(
        1,
        r#"echo "greeting=$GREETING" >> "$ORRERY_OUTPUT"
           printf '# a comment\n\n  count = 3\ncount=4\nurl=http://x/?a=b\n' >> "$ORRERY_OUTPUT"
           echo "$HOME" | grep -q . && echo inherited"#,
    );
    assignment
        .env
        .insert("GREETING".to_owned(), "hello world".to_owned());
    let attempt = harness.run(assignment).await;

    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded, "{finished:?}");
    let expected: BTreeMap<String, String> = [
        ("greeting", "hello world"),
        ("count", "4"),
        ("url", "http://x/?a=b"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect();
    assert_eq!(finished.outputs, expected);
    assert_eq!(attempt.stdout(), ["inherited"]);
}

#[tokio::test]
async fn an_invalid_output_line_fails_the_attempt_naming_the_line() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness
        .run(shell(
            1,
            r#"printf 'ok=1\nnot a pair\n' > "$ORRERY_OUTPUT""#,
        ))
        .await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, Some(0));
    assert_eq!(
        finished.error.as_deref(),
        Some("output file line 2: expected key=value")
    );
    assert!(finished.outputs.is_empty());
}

#[tokio::test]
async fn an_output_file_over_the_cap_fails_the_attempt() {
    let mut harness = Harness::start(|config| config.max_output_bytes = 100).await;
    let attempt = harness
        .run(shell(
            1,
            r#"head -c 200 /dev/zero | tr '\0' a > "$ORRERY_OUTPUT""#,
        ))
        .await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some("output file is 200 bytes, over the 100-byte cap")
    );
}

#[tokio::test]
async fn a_nonzero_exit_code_fails_the_attempt() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(shell(1, "echo failing >&2; exit 3")).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, Some(3));
    assert_eq!(attempt.text(LogStream::Stderr), ["failing"]);
}

#[tokio::test]
async fn a_process_killed_by_a_signal_has_no_exit_code() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(shell(1, "kill -KILL $$")).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, None);
    assert_eq!(finished.error.as_deref(), Some("killed by signal SIGKILL"));
}

#[tokio::test]
async fn a_command_runs_its_argv_without_a_shell() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(command(1, &["echo", "$HOME", "a  b"])).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(attempt.stdout(), ["$HOME a  b"]);
}

#[tokio::test]
async fn a_missing_program_fails_with_its_name_and_the_os_error() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness
        .run(command(1, &["orrery-no-such-program", "x"]))
        .await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, None);
    assert_eq!(finished.started_at, None);
    assert!(attempt.started.is_none());
    let error = finished.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("orrery-no-such-program") && error.contains("No such file or directory"),
        "{error}"
    );
}

#[tokio::test]
async fn an_empty_argv_fails_clearly() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(command(1, &[])).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some("the command's argv is empty")
    );
}

#[tokio::test]
async fn the_working_dir_is_used_and_a_missing_one_fails_clearly() {
    let mut harness = Harness::start(|_| {}).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut assignment = command(1, &["pwd"]);
    assignment.working_dir = Some(dir.path().display().to_string());
    let attempt = harness.run(assignment).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    let expected = dir.path().canonicalize().expect("canonical path");
    assert_eq!(attempt.stdout(), [expected.display().to_string()]);

    let mut assignment = command(2, &["pwd"]);
    assignment.working_dir = Some("/orrery/no/such/dir".to_owned());
    let attempt = harness.run(assignment).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some(r#"working directory "/orrery/no/such/dir" does not exist"#)
    );
}

#[tokio::test]
async fn a_noop_starts_and_succeeds_without_a_process() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(common::assignment(1, ExecSpec::Noop)).await;
    let started = attempt.started.as_ref().expect("TaskStarted");
    assert_eq!(started.pid, None);
    assert_eq!(started.started_at, start_time());
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded);
    assert_eq!(finished.finished_at, start_time());
    assert!(attempt.lines.is_empty());
}

#[tokio::test]
async fn attempt_output_files_are_removed_afterwards() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(shell(1, r#"echo "$ORRERY_OUTPUT""#)).await;
    let output_path = attempt.stdout()[0].to_owned();
    assert!(output_path.starts_with(&harness.work_dir.path().display().to_string()));
    assert!(!std::path::Path::new(&output_path).exists());
    let leftovers = std::fs::read_dir(harness.work_dir.path())
        .expect("work dir")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != "worker-id" && entry.file_name() != "worker.lock")
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn attempts_asking_for_gpus_get_distinct_devices() {
    let mut harness = Harness::start(|config| config.gpus = 2).await;
    let mut first = shell(1, "echo $CUDA_VISIBLE_DEVICES; sleep 0.3");
    first.resources.gpus = 1;
    let mut second = shell(2, "echo $CUDA_VISIBLE_DEVICES; sleep 0.3");
    second.resources.gpus = 1;
    let mut third = shell(3, "echo never");
    third.resources.gpus = 1;
    for assignment in [first, second, third] {
        harness.send(SchedulerMessage::Assign(assignment)).await;
    }
    let mut devices = Vec::new();
    let mut refused = None;
    while devices.len() < 2 || refused.is_none() {
        match harness.recv().await {
            WorkerMessage::LogChunk(chunk) => {
                devices.extend(chunk.lines.into_iter().map(|l| l.text));
            }
            WorkerMessage::TaskFinished(finished) if finished.task == task(3) => {
                refused = finished.error;
            }
            _ => {}
        }
    }
    devices.sort();
    assert_eq!(devices, ["0", "1"]);
    assert_eq!(refused.as_deref(), Some("worker has too few free GPUs"));
}
