//! Sandboxed attempts under bubblewrap: a read-only system, a private /tmp, a writable
//! output file, and no network unless asked for.

mod common;

use common::isolation::{bwrap_missing, skip};
use common::{Attempt, Harness, shell};
use orrery_proto::TaskOutcome;
use std::io::Write;

/// True (after reporting the skip) when bubblewrap cannot sandbox here.
fn sandbox_unavailable(test: &str) -> bool {
    match bwrap_missing() {
        Some(reason) => {
            skip(test, &reason);
            true
        }
        None => false,
    }
}

async fn run_sandboxed(harness: &mut Harness, id: i64, script: &str, network: bool) -> Attempt {
    let mut assignment = shell(id, script);
    assignment.isolation.sandbox = true;
    assignment.isolation.network = network;
    harness.run(assignment).await
}

#[tokio::test]
async fn the_system_is_read_only_tmp_is_private_and_the_output_file_writable() {
    if sandbox_unavailable("the_system_is_read_only_tmp_is_private_and_the_output_file_writable") {
        return;
    }
    let mut host_file = tempfile::Builder::new()
        .prefix("orrery-host-")
        .tempfile_in("/tmp")
        .expect("a file in the host's /tmp");
    writeln!(host_file, "host").expect("write the host file");
    let usr_probe = format!("/usr/orrery-sandbox-probe-{}", std::process::id());
    let script = format!(
        r#"if touch {usr_probe} 2>/dev/null; then echo usr-writable; else echo usr-read-only; fi
           if test -e {host}; then echo host-tmp-visible; else echo host-tmp-hidden; fi
           echo inside > /tmp/inside && cat /tmp/inside
           echo "sandboxed=yes" >> "$ORRERY_OUTPUT""#,
        host = host_file.path().display(),
    );
    let mut harness = Harness::start(|_| {}).await;
    let attempt = run_sandboxed(&mut harness, 1, &script, false).await;
    let escaped = std::fs::remove_file(&usr_probe).is_ok();

    let finished = attempt.finished();
    assert_eq!(
        finished.outcome,
        TaskOutcome::Succeeded,
        "{finished:?} {:?}",
        attempt.lines
    );
    assert!(!escaped, "the sandbox wrote {usr_probe}");
    assert_eq!(
        attempt.stdout(),
        ["usr-read-only", "host-tmp-hidden", "inside"]
    );
    assert_eq!(
        finished.outputs.get("sandboxed").map(String::as_str),
        Some("yes")
    );
    assert!(!std::path::Path::new("/tmp/inside").exists());
}

#[tokio::test]
async fn the_network_is_cut_unless_the_assignment_keeps_it() {
    if sandbox_unavailable("the_network_is_cut_unless_the_assignment_keeps_it") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local listener");
    let port = listener.local_addr().expect("its address").port();
    let script = format!(
        "if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo connected; else echo unreachable; fi"
    );
    let mut harness = Harness::start(|_| {}).await;

    let cut = run_sandboxed(&mut harness, 1, &script, false).await;
    assert_eq!(
        cut.finished().outcome,
        TaskOutcome::Succeeded,
        "{:?}",
        cut.lines
    );
    assert_eq!(cut.stdout(), ["unreachable"]);

    let kept = run_sandboxed(&mut harness, 2, &script, true).await;
    assert_eq!(kept.stdout(), ["connected"], "{:?}", kept.lines);
}

#[tokio::test]
async fn a_sandboxed_task_can_run_as_another_user() {
    let test = "a_sandboxed_task_can_run_as_another_user";
    if sandbox_unavailable(test) {
        return;
    }
    if let Some(reason) = common::isolation::run_as_missing("nobody") {
        skip(test, &reason);
        return;
    }
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = shell(1, r#"id -un; echo "ok=1" >> "$ORRERY_OUTPUT""#);
    assignment.isolation.sandbox = true;
    assignment.isolation.run_as = Some("nobody".to_owned());
    let attempt = harness.run(assignment).await;
    let finished = attempt.finished();
    assert_eq!(
        finished.outcome,
        TaskOutcome::Succeeded,
        "{finished:?} {:?}",
        attempt.lines
    );
    assert_eq!(attempt.stdout(), ["nobody"]);
    assert_eq!(finished.outputs.get("ok").map(String::as_str), Some("1"));
}
