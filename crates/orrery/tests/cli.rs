//! The real binary, as a user drives it: `orrery server` in one process, the CLI in
//! others; including a SIGKILL of the server in the middle of a run.

use orrery_testkit::{BinaryServer, eventually};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_orrery");

/// The real server on `data_dir`, with the defaults a user gets.
fn start(data_dir: &Path) -> BinaryServer {
    BinaryServer::start(BIN, data_dir, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A directory every account may write in, like `/tmp`: tasks of a server started as
/// root run as `nobody`.
fn shared_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777))
        .expect("chmod the shared dir");
    dir
}

fn run_json(server: &BinaryServer, id: i64) -> serde_json::Value {
    let out = server.cli(&["run", "get", &id.to_string(), "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("run json")
}

#[test]
fn the_readme_tour_works() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path());

    let out = server.cli(&["apply", "-f", "examples/"]);
    assert!(out.status.success(), "apply: {}", stderr(&out));
    assert!(stdout(&out).contains("etl-daily"), "{}", stdout(&out));
    let again = server.cli(&["apply", "-f", "examples/etl-daily.yaml"]);
    assert!(stdout(&again).contains("unchanged"), "{}", stdout(&again));

    let out = server.cli(&["run", "start", "etl-daily", "--wait", "-o", "json"]);
    assert!(
        out.status.success(),
        "run start --wait: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(run["state"], "success");
    let id = run["id"].as_i64().expect("id");

    let out = server.cli(&["run", "logs", &id.to_string(), "--task", "extract"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("extracting orders for region cn"),
        "{}",
        stdout(&out)
    );

    let out = server.cli(&["run", "list", "--job", "etl-daily"]);
    assert!(stdout(&out).contains("success"), "{}", stdout(&out));
    // A reader that goes away (`| head -1`) ends the CLI quietly, without a panic.
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["run", "get", &id.to_string()])
        .env_remove("ORRERY_SERVER")
        .env_remove("ORRERY_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the CLI");
    drop(child.stdout.take());
    let closed = child.wait_with_output().expect("wait for the CLI");
    assert!(
        closed.status.success() && !stderr(&closed).contains("panicked"),
        "{:?}: {}",
        closed.status,
        stderr(&closed)
    );
    let out = server.cli(&["job", "get", "etl-daily"]);
    assert!(
        stdout(&out).contains("Daily sales report"),
        "{}",
        stdout(&out)
    );
    server.stop();
}

#[test]
fn failures_exit_non_zero_with_a_message_that_names_the_problem() {
    let data = tempfile::tempdir().expect("tempdir");
    let specs = tempfile::tempdir().expect("tempdir");
    let server = start(data.path());

    let bad = specs.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\ntasks:\n  - {name: t, type: shell, script: echo, timeout: soon}\n",
    )
    .expect("write");
    let out = server.cli(&["apply", "-f", bad.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("tasks[0].timeout"),
        "{}",
        stderr(&out)
    );

    let failing = specs.path().join("failing.yaml");
    std::fs::write(
        &failing,
        "name: failing\ntasks:\n  - {name: t, type: shell, script: 'exit 4'}\n",
    )
    .expect("write");
    assert!(
        server
            .cli(&["apply", "-f", failing.to_str().expect("path")])
            .status
            .success()
    );
    let out = server.cli(&["run", "start", "failing", "--wait"]);
    assert!(!out.status.success(), "a failed run must exit non-zero");

    let out = server.cli(&["run", "get", "424242"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    server.stop();
}

#[test]
fn a_server_killed_mid_run_recovers_the_run_after_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let work = shared_dir();
    let marker = work.path().join("started");
    let server = start(data.path());
    // The first attempt blocks until killed with the server; the retry finishes.
    let spec = work.path().join("recover.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: recover\ntasks:\n  - name: t\n    type: shell\n    retries: 1\n    retry_delay: 0s\n    script: |\n      \
             if [ \"$ORRERY_ATTEMPT\" = 1 ]; then echo $$ > {m}; sleep 30; fi\n      echo done\n  - {{name: after, type: noop, depends_on: [t]}}\n",
            m = marker.display()
        ),
    )
    .expect("write");
    assert!(
        server
            .cli(&["apply", "-f", spec.to_str().expect("path")])
            .status
            .success()
    );
    let out = server.cli(&["run", "start", "recover", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = run["id"].as_i64().expect("id");
    let first_pid: i32 = eventually(
        "the first attempt to start",
        Duration::from_secs(30),
        || std::fs::read_to_string(&marker).ok()?.trim().parse().ok(),
    );
    server.kill();

    let server = start(data.path());
    let run = eventually(
        "the run to end after restart",
        Duration::from_secs(60),
        || {
            let run = run_json(&server, id);
            matches!(run["state"].as_str(), Some("success" | "failed")).then_some(run)
        },
    );
    assert_eq!(run["state"], "success", "{run:#}");
    let tasks = run["tasks"].as_array().expect("tasks");
    let attempts: Vec<(i64, &str)> = tasks
        .iter()
        .filter(|t| t["task"] == "t")
        .map(|t| {
            (
                t["attempt"].as_i64().unwrap_or(0),
                t["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(attempts, vec![(1, "lost"), (2, "success")]);
    // The orphaned first attempt was killed when the worker came back, not left to
    // run beside its retry.
    let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(first_pid), None)
        == Err(nix::errno::Errno::ESRCH)
        || std::fs::read_to_string(format!("/proc/{first_pid}/stat"))
            .is_ok_and(|s| s.contains(") Z "));
    assert!(
        gone,
        "the first attempt's process {first_pid} is still running"
    );
    server.stop();
}

#[test]
fn a_config_file_with_an_unknown_key_stops_the_server_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("orrery.yaml");
    std::fs::write(&config, "listen: 127.0.0.1:0\nworker_slot: 4\n").expect("write");
    let out = Command::new(BIN)
        .args(["server", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("worker_slot") && text.contains("orrery.yaml"),
        "{text}"
    );
}

#[test]
fn a_fire_lead_over_ten_seconds_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["server", "--listen", "127.0.0.1:0", "--fire-lead", "11s"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("fire_lead must be at most 10s") && text.contains("11s"),
        "{text}"
    );
}

#[test]
fn settings_come_from_the_config_file_unless_a_flag_says_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("orrery.yaml");
    std::fs::write(
        &config,
        format!("listen: 127.0.0.1:0\ndata_dir: {}\n", data.display()),
    )
    .expect("write");
    let mut child = Command::new(BIN)
        .args(["server", "--config"])
        .arg(&config)
        .env("ORRERY_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    eventually(
        "the server to write its endpoint into the file's data_dir",
        Duration::from_secs(30),
        || data.join("endpoint").exists().then_some(()),
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn cron_next_previews_fire_times_across_a_dst_gap_without_a_server() {
    let out = Command::new(BIN)
        .args([
            "cron",
            "next",
            "0 30 2 * * *",
            "--tz",
            "America/New_York",
            "--from",
            "2026-03-07T12:00:00Z",
            "--count",
            "3",
            "-o",
            "json",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let fires: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let local: Vec<&str> = fires
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|f| f["local"].as_str())
        .collect();
    // 02:30 does not exist on 8 March (spring forward): it fires at 03:00 instead.
    assert_eq!(
        local,
        vec![
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:30:00-04:00",
            "2026-03-10T02:30:00-04:00"
        ]
    );
    let bad = Command::new(BIN)
        .args(["cron", "next", "0 0 32 * *"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("day-of-month"), "{}", stderr(&bad));
}

#[test]
fn scheduled_examples_apply_with_their_calendar_and_show_in_history_and_backfill() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path());
    let out = server.cli(&["apply", "-f", "examples/"]);
    assert!(out.status.success(), "apply: {}", stderr(&out));
    let out = server.cli(&["job", "list"]);
    assert!(
        stdout(&out).contains("cron 0 30 2 * * * Asia/Shanghai"),
        "{}",
        stdout(&out)
    );

    let out = server.cli(&["job", "pause", "nightly-settlement"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = server.cli(&[
        "backfill",
        "nightly-settlement",
        "--from",
        "2026-01-01T00:00:00+08:00",
        "--to",
        "2026-01-03T23:59:59+08:00",
        "--parallelism",
        "2",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // 2026-01-01 is in cn-holidays: recorded `excluded`, no run.
    assert_eq!(result["created"], 2, "{result}");
    assert_eq!(result["excluded"], 1, "{result}");
    let first = result["run_ids"][0].as_i64().expect("run id");
    let run = eventually("the backfilled run to end", Duration::from_secs(30), || {
        let run = run_json(&server, first);
        matches!(run["state"].as_str(), Some("success" | "failed")).then_some(run)
    });
    assert_eq!(run["state"], "success", "{run:#}");
    let out = server.cli(&["run", "logs", &first.to_string(), "--task", "notify"]);
    assert!(
        stdout(&out).contains("settlement of 2026-01-01 done"),
        "{}",
        stdout(&out)
    );

    // The README's manual run of the scheduled job: the latest due fire's dates.
    let out = server.cli(&["run", "start", "nightly-settlement", "--wait", "-o", "json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let manual: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(manual["state"], "success", "{manual:#}");
    assert!(manual["logical_date"].is_string(), "{manual:#}");
    let out = server.cli(&[
        "run",
        "start",
        "nightly-settlement",
        "--logical-date",
        "2026-01-05T02:30:00+08:00",
        "--wait",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let dated: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(dated["logical_date"], "2026-01-04T18:30:00Z", "{dated:#}");

    let out = server.cli(&["job", "history", "nightly-settlement"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("OUTCOME"), "{}", stdout(&out));
    let out = server.cli(&[
        "backfill",
        "nightly-settlement",
        "--from",
        "2026-01-02T00:00:00Z",
        "--to",
        "2026-01-01T00:00:00Z",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("after"), "{}", stderr(&out));
    server.stop();
}

#[test]
fn a_task_cannot_read_the_data_directory_the_database_or_the_admin_token() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path());
    let specs = shared_dir();
    let dir = data.path().display().to_string();
    let probes = [
        ("token", format!("cat {dir}/admin.token")),
        ("database", format!("head -c 16 {dir}/orrery.db")),
        ("listing", format!("ls {dir}")),
        (
            "relative",
            "cat orrery-data/admin.token ../admin.token ../../admin.token".to_owned(),
        ),
    ];
    for (name, script) in &probes {
        let spec = specs.path().join(format!("{name}.yaml"));
        std::fs::write(
            &spec,
            format!("name: probe-{name}\ntasks:\n  - name: t\n    type: shell\n    script: \"{script}\"\n"),
        )
        .expect("write");
        let out = server.cli(&["apply", "-f", spec.to_str().expect("path")]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let token = std::fs::read_to_string(data.path().join("admin.token")).expect("token");
    for (name, _) in &probes {
        let out = server.cli(&[
            "run",
            "start",
            &format!("probe-{name}"),
            "--wait",
            "-o",
            "json",
        ]);
        let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            run["state"], "failed",
            "probe {name} read the data directory: {run:#}"
        );
        let id = run["id"].as_i64().expect("id").to_string();
        let logs = stdout(&server.cli(&["run", "logs", &id]));
        assert!(
            !logs.contains(token.trim()),
            "probe {name} printed the admin token"
        );
    }
    // A task starts in a directory of its own, not the server's.
    let spec = specs.path().join("where.yaml");
    std::fs::write(
        &spec,
        "name: where\ntasks:\n  - name: t\n    type: shell\n    script: 'echo \"cwd=$PWD\" >> \"$ORRERY_OUTPUT\"; echo \"user=$(id -un)\" >> \"$ORRERY_OUTPUT\"'\n",
    )
    .expect("write");
    assert!(
        server
            .cli(&["apply", "-f", spec.to_str().expect("path")])
            .status
            .success()
    );
    let out = server.cli(&["run", "start", "where", "--wait", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(run["state"], "success", "{run:#}");
    let outputs = &run["tasks"][0]["outputs"];
    let cwd = outputs["cwd"].as_str().expect("cwd");
    assert!(cwd.contains("/attempt-"), "the task started in {cwd}");
    if nix::unistd::geteuid().is_root() {
        assert_eq!(outputs["user"], "nobody", "{outputs}");
    }
    server.stop();
}

#[test]
fn sigterm_lets_running_tasks_finish_and_stops_without_errors() {
    let data = tempfile::tempdir().expect("tempdir");
    let specs = shared_dir();
    let server = BinaryServer::start_logging(BIN, data.path(), &[], "info");
    let spec = specs.path().join("slow.yaml");
    std::fs::write(
        &spec,
        "name: slow\ntasks:\n  - {name: t, type: shell, script: 'sleep 2; echo finished'}\n",
    )
    .expect("write");
    assert!(
        server
            .cli(&["apply", "-f", spec.to_str().expect("path")])
            .status
            .success()
    );
    let out = server.cli(&["run", "start", "slow", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = run["id"].as_i64().expect("id");
    eventually("the task to run", Duration::from_secs(30), || {
        (run_json(&server, id)["tasks"][0]["state"] == "running").then_some(())
    });
    // `stop` sends SIGTERM, waits, and fails the test on any ERROR the server logged.
    let stopped = server.stop();
    assert!(stopped.status.success(), "{}", stopped.status);
    assert!(stopped.log.contains("draining"), "{}", stopped.log);

    // The task ran to its end before the server stopped.
    let again = start(data.path());
    let run = run_json(&again, id);
    assert_eq!(run["state"], "success", "{run:#}");
    let logs = stdout(&again.cli(&["run", "logs", &id.to_string()]));
    assert!(logs.contains("finished"), "{logs}");
    again.stop();
}

#[test]
fn jobs_of_another_project_are_reached_with_project_and_specs_come_from_stdin() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path());
    let out = server.cli(&["project", "create", "team-a", "--description", "Team A"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Two documents on standard input, one of them in project team-a; the unquoted
    // param draws a warning naming the field.
    let stream = "name: etl\nproject: team-a\nparams: {who: a}\ntasks:\n  - {name: t, type: shell, script: 'echo {{ params.who }}'}\n---\nname: etl\ntasks:\n  - {name: t, type: noop}\n";
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data.path())
        .args(["apply", "-f", "-"])
        .env_remove("ORRERY_SERVER")
        .env_remove("ORRERY_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn apply");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(stream.as_bytes()).expect("write the specs");
    }
    let out = child.wait_with_output().expect("apply");
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings = stderr(&out);
    assert_eq!(
        warnings.matches("warning: tasks[0].script").count(),
        1,
        "printed once: {warnings}"
    );

    let out = server.cli(&["job", "get", "etl", "--project", "team-a", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(job["project"], "team-a");
    let out = server.cli(&["job", "graph", "etl", "--project", "team-a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = server.cli(&[
        "run",
        "start",
        "etl",
        "--project",
        "team-a",
        "--wait",
        "-o",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (run["project"].as_str(), run["state"].as_str()),
        (Some("team-a"), Some("success"))
    );
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data.path())
        .args(["job", "pause", "etl"])
        .env("ORRERY_PROJECT", "team-a")
        .env_remove("ORRERY_SERVER")
        .env_remove("ORRERY_TOKEN")
        .output()
        .expect("pause");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = server.cli(&["job", "list", "-o", "json"]);
    let jobs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let paused: Vec<(&str, bool)> = jobs
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["project"].as_str().unwrap_or(""),
                j["paused"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert!(
        paused.contains(&("team-a", true)) && paused.contains(&("default", false)),
        "{paused:?}"
    );
    let out = server.cli(&["run", "list"]);
    assert!(
        stdout(&out).contains("PROJECT") && stdout(&out).contains("team-a"),
        "{}",
        stdout(&out)
    );

    // A server address without its scheme says how to write it, once.
    let out = server.cli(&["--server", "127.0.0.1:7070", "job", "list"]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(message.contains("http://127.0.0.1:7070"), "{message}");
    assert_eq!(message.matches("error").count(), 1, "{message}");
    server.stop();
}

#[test]
fn alerting_commands_apply_the_example_route_list_silence_and_test_receivers() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path());
    let out = server.cli(&["apply", "-f", "examples/alerts.yaml"]);
    assert!(out.status.success(), "apply: {}", stderr(&out));
    let out = server.cli(&["receiver", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(
        listed.contains("audit-hook")
            && listed.contains("webhook")
            && listed.contains("AlertRoute"),
        "{listed}"
    );
    // Nothing listens at the example's address: the test says so and exits 1.
    let out = server.cli(&["receiver", "test", "audit-hook"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("not sent to audit-hook") && stderr(&out).contains("127.0.0.1:9095"),
        "{}",
        stderr(&out)
    );

    let out = server.cli(&[
        "silence",
        "create",
        "--matcher",
        "job=nightly-etl",
        "--for",
        "2h",
        "--comment",
        "db migration",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("job=nightly-etl"), "{}", stdout(&out));
    let out = server.cli(&["silence", "list", "-o", "json"]);
    let silences: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(silences[0]["state"], "active");
    assert_eq!(silences[0]["comment"], "db migration");
    let id = silences[0]["id"].as_i64().expect("id").to_string();
    let out = server.cli(&["silence", "expire", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = server.cli(&["silence", "expire", &id]);
    assert!(
        !out.status.success(),
        "an expired silence cannot expire again"
    );
    let out = server.cli(&[
        "silence",
        "create",
        "--matcher",
        "job",
        "--for",
        "2h",
        "--comment",
        "x",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("label=value"),
        "{}",
        stderr(&out)
    );
    let out = server.cli(&[
        "silence",
        "create",
        "--matcher",
        "job=a",
        "--for",
        "forever",
        "--comment",
        "x",
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("duration"),
        "{}",
        stderr(&out)
    );

    for command in [["alert", "list"], ["alert", "history"]] {
        let out = server.cli(&[command[0], command[1], "-o", "json"]);
        assert!(out.status.success(), "{command:?}: {}", stderr(&out));
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(listed.as_array().is_some(), "{listed}");
    }
    let out = server.cli(&["alert", "list", "--state", "burning"]);
    assert!(
        !out.status.success() && stderr(&out).contains("state"),
        "{}",
        stderr(&out)
    );
    server.stop();
}
