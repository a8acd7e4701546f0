//! Isolation every process attempt gets: a scrubbed environment, rlimits, its own
//! session; and another user when the assignment names one.

mod common;

use common::isolation::{run_as_missing, skip};
use common::{Harness, command, shell};
use orrery_proto::TaskOutcome;
use std::collections::BTreeMap;

/// `KEY=value` lines of `env` as a map.
fn parse_env(lines: &[&str]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// A variable of the test's own environment that the default allow list does not name.
fn unlisted_variable(allowed: &[String]) -> Option<(String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .find(|(key, value)| {
            !allowed.contains(key) && !key.starts_with("ORRERY_") && !value.contains('\n')
        })
}

#[tokio::test]
async fn the_environment_is_scrubbed_to_allowed_variables_and_the_assignments() {
    let defaults = orrery_worker::WorkerConfig::new("w", "/tmp").env_allow;
    let Some((unlisted, unlisted_value)) = unlisted_variable(&defaults) else {
        skip(
            "the_environment_is_scrubbed_to_allowed_variables_and_the_assignments",
            "the test process has no variable outside the allow list",
        );
        return;
    };
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = command(1, &["env"]);
    assignment
        .env
        .insert("GREETING".to_owned(), "hello".to_owned());
    let attempt = harness.run(assignment).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);

    let env = parse_env(&attempt.stdout());
    let mut expected: Vec<String> = defaults
        .iter()
        .filter(|name| std::env::var_os(name).is_some())
        .cloned()
        .chain(["PATH", "GREETING", "ORRERY_OUTPUT"].map(str::to_owned))
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(env.keys().cloned().collect::<Vec<_>>(), expected);
    assert_eq!(env.get("GREETING").map(String::as_str), Some("hello"));
    assert!(!env.contains_key(&unlisted), "{unlisted} leaked");
    if let Some(home) = std::env::var_os("HOME") {
        assert_eq!(env.get("HOME").map(String::as_str), home.to_str());
    }

    let mut harness = Harness::start(|config| config.env_allow.push(unlisted.clone())).await;
    let attempt = harness.run(command(2, &["env"])).await;
    let env = parse_env(&attempt.stdout());
    assert_eq!(env.get(&unlisted), Some(&unlisted_value));
}

#[tokio::test]
async fn a_worker_without_path_gives_attempts_a_standard_one() {
    let mut harness = Harness::start(|config| config.env_allow = vec!["HOME".to_owned()]).await;
    let attempt = harness
        .run(shell(1, r#"echo "$PATH"; command -v ls"#))
        .await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(
        attempt.stdout()[0],
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
}

#[tokio::test]
async fn core_dumps_are_off_and_open_files_are_limited() {
    let mut harness = Harness::start(|config| config.nofile_limit = 1000).await;
    let attempt = harness
        .run(shell(1, "ulimit -c; ulimit -n; ulimit -Hn"))
        .await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(attempt.stdout(), ["0", "1000", "1000"]);
}

#[tokio::test]
async fn the_task_leads_its_own_session_and_process_group() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness
        .run(shell(1, "echo $$; cut -d' ' -f5,6 /proc/$$/stat"))
        .await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    let pid = attempt
        .started
        .as_ref()
        .and_then(|started| started.pid)
        .expect("a pid");
    // Fields 5 and 6 of the stat file: the process group and the session.
    assert_eq!(attempt.stdout(), [pid.to_string(), format!("{pid} {pid}")]);
}

#[tokio::test]
async fn run_as_runs_the_task_as_that_user_with_its_output_file_writable() {
    if let Some(reason) = run_as_missing("nobody") {
        skip(
            "run_as_runs_the_task_as_that_user_with_its_output_file_writable",
            &reason,
        );
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = shell(
        1,
        r#"id -un; id -Gn; echo "$USER $LOGNAME"; echo "user=$(id -un)" >> "$ORRERY_OUTPUT""#,
    );
    assignment.isolation.run_as = Some("nobody".to_owned());
    let attempt = harness.run(assignment).await;

    let finished = attempt.finished();
    assert_eq!(
        finished.outcome,
        TaskOutcome::Succeeded,
        "{finished:?} {:?}",
        attempt.lines
    );
    let primary_group = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .and_then(|user| nix::unistd::Group::from_gid(user.gid).ok().flatten())
        .map(|group| group.name)
        .expect("nobody's primary group");
    assert_eq!(
        attempt.stdout(),
        ["nobody", primary_group.as_str(), "nobody nobody"]
    );
    assert_eq!(
        finished.outputs.get("user").map(String::as_str),
        Some("nobody")
    );
}

#[tokio::test]
async fn an_unknown_run_as_user_fails_the_attempt_without_starting_it() {
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = shell(1, "echo should not run");
    assignment.isolation.run_as = Some("orrery-no-such-user".to_owned());
    let attempt = harness.run(assignment).await;

    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some(r#"run_as user "orrery-no-such-user" does not exist on worker test-worker"#)
    );
    assert!(attempt.started.is_none());
    assert!(attempt.lines.is_empty());
}
