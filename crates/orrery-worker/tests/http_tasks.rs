//! `http` attempts against a real local server: outputs, expectations, timeouts,
//! unreachable servers and cancels.

mod common;

use common::http_server::{Reply, ScriptedServer};
use common::{Attempt, Harness, http, http_get, task};
use orrery_proto::{LogStream, SchedulerMessage, TaskOutcome};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

/// The system log lines, with the varying `in N ms` part replaced by `in _ ms`.
fn system_lines(attempt: &Attempt) -> Vec<String> {
    attempt
        .text(LogStream::System)
        .into_iter()
        .map(|line| match line.rsplit_once(" in ") {
            Some((start, end)) if end.ends_with(" ms") => format!("{start} in _ ms"),
            _ => line.to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn a_server_failing_twice_then_answering_fails_two_attempts_and_passes_the_third() {
    let server = ScriptedServer::start(vec![
        Reply::status(503).with_body("busy"),
        Reply::status(503).with_body("busy"),
        Reply::json(200, r#"{"status": "ok", "rows": [4, 5]}"#).with_header("X-Request-Id", "abc"),
    ])
    .await;
    let mut harness = Harness::start(|_| {}).await;
    let mut request = http_get(&server.url("/health?deep=1"));
    request.method = "post".to_owned();
    request.headers = vec![("X-Token".to_owned(), "secret".to_owned())];
    request.body = Some(r#"{"ping": true}"#.to_owned());
    request.expect_json = Some(("$.status".to_owned(), json!("ok")));

    for id in [1, 2] {
        let attempt = harness.run(http(id, request.clone())).await;
        let finished = attempt.finished();
        assert_eq!(finished.outcome, TaskOutcome::Failed, "{finished:?}");
        assert_eq!(finished.exit_code, None);
        assert_eq!(
            finished.error.as_deref(),
            Some("expected status 2xx, got 503")
        );
        assert_eq!(finished.outputs["status"], "503");
        assert_eq!(finished.outputs["body"], "busy");
    }

    let attempt = harness.run(http(3, request)).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded, "{finished:?}");
    assert_eq!(finished.exit_code, None);
    assert_eq!(finished.error, None);
    assert_eq!(finished.outputs["status"], "200");
    assert_eq!(
        finished.outputs["body"],
        r#"{"status": "ok", "rows": [4, 5]}"#
    );
    assert_eq!(finished.outputs["header.x-request-id"], "abc");
    assert_eq!(finished.outputs["header.content-type"], "application/json");
    assert_eq!(finished.outputs["header.connection"], "close");
    let started = attempt.started.as_ref().expect("TaskStarted");
    assert_eq!(started.pid, None);
    assert_eq!(
        system_lines(&attempt),
        [format!(
            "HTTP POST {} → 200 in _ ms",
            server.url("/health?deep=1")
        )]
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let last = &requests[2];
    assert_eq!(last.method, "POST");
    assert_eq!(last.target, "/health?deep=1");
    assert_eq!(last.header("x-token"), Some("secret"));
    assert_eq!(last.body, br#"{"ping": true}"#);
}

#[tokio::test]
async fn expect_status_replaces_the_2xx_default() {
    let server = ScriptedServer::start(vec![Reply::status(404), Reply::status(200)]).await;
    let mut harness = Harness::start(|_| {}).await;
    let mut request = http_get(&server.url("/gone"));
    request.expect_status = vec![404, 410];
    let attempt = harness.run(http(1, request)).await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);
    assert_eq!(attempt.finished().outputs["status"], "404");

    let mut request = http_get(&server.url("/created"));
    request.expect_status = vec![201];
    let attempt = harness.run(http(2, request)).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some("expected status 201, got 200")
    );
}

#[tokio::test]
async fn expect_json_checks_the_value_at_the_path() {
    let body = r#"{"status": "degraded", "checks": [{"name": "db", "up": true}]}"#;
    let server = ScriptedServer::start(vec![Reply::json(200, body)]).await;
    let mut harness = Harness::start(|_| {}).await;
    let check = |id, path: &str, expected| {
        let mut request = http_get(&server.url("/status"));
        request.expect_json = Some((path.to_owned(), expected));
        http(id, request)
    };

    let attempt = harness
        .run(check(1, "$.checks[0]['up']", json!(true)))
        .await;
    assert_eq!(attempt.finished().outcome, TaskOutcome::Succeeded);

    let attempt = harness.run(check(2, "$.status", json!("ok"))).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some(r#"$.status is "degraded", expected "ok""#)
    );
    assert_eq!(finished.outputs["body"], body);

    let attempt = harness.run(check(3, "$.state", json!("ok"))).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(
        finished.error.as_deref(),
        Some("$.state not found in the response")
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_fails_an_expect_json_check() {
    let server = ScriptedServer::start(vec![Reply::status(200).with_body("<html>")]).await;
    let mut harness = Harness::start(|_| {}).await;
    let mut request = http_get(&server.url("/"));
    request.expect_json = Some(("$.status".to_owned(), json!("ok")));
    let attempt = harness.run(http(1, request)).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    let error = finished.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("the response body is not JSON:"),
        "{error}"
    );
}

#[tokio::test]
async fn the_body_output_is_capped_and_the_log_says_so() {
    let server = ScriptedServer::start(vec![
        Reply::status(200).with_body(&"0123456789".repeat(100)),
    ])
    .await;
    let mut harness = Harness::start(|_| {}).await;
    let mut request = http_get(&server.url("/big"));
    request.max_body_bytes = 25;
    let attempt = harness.run(http(1, request)).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Succeeded);
    assert_eq!(finished.outputs["body"], "0123456789012345678901234");
    assert_eq!(finished.outputs["header.content-length"], "1000");
    assert_eq!(
        system_lines(&attempt),
        [
            format!("HTTP GET {} → 200 in _ ms", server.url("/big")),
            "[response body truncated to its first 25 bytes (max_body_bytes)]".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_timeout() {
    let server = ScriptedServer::start(vec![Reply::Silent]).await;
    let mut harness = Harness::start(|_| {}).await;
    let mut assignment = http(1, http_get(&server.url("/slow")));
    assignment.timeout = Some(Duration::from_millis(500));
    let begun = Instant::now();
    let attempt = harness.run(assignment).await;
    let elapsed = begun.elapsed();
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::TimedOut);
    assert_eq!(finished.exit_code, None);
    assert_eq!(finished.error.as_deref(), Some("timed out after 500ms"));
    assert!(
        elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(server.requests().len(), 1, "the request reached the server");
}

#[tokio::test]
async fn a_refused_connection_fails_naming_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let mut harness = Harness::start(|_| {}).await;
    let url = format!("http://{address}/x");
    let attempt = harness.run(http(1, http_get(&url))).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.exit_code, None);
    assert!(finished.outputs.is_empty());
    // For example `cannot reach http://127.0.0.1:PORT/x: tcp connect error: Connection
    // refused (os error 111)`.
    let error = finished.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "cannot reach {url}: tcp connect error: Connection refused"
        )),
        "{error}"
    );
}

#[tokio::test]
async fn https_goes_through_rustls_and_a_failed_handshake_is_unreachable() {
    // Plain text where a TLS server hello belongs: the handshake fails, which shows the
    // TLS stack is set up (no missing crypto provider) without needing a certificate.
    let server = ScriptedServer::start(vec![Reply::Raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
    )])
    .await;
    let mut harness = Harness::start(|_| {}).await;
    let url = format!("https://{}/secure", server.address);
    let attempt = harness.run(http(1, http_get(&url))).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    let expected =
        format!("cannot reach {url}: received corrupt message of type InvalidContentType");
    assert_eq!(finished.error.as_deref(), Some(expected.as_str()));
}

#[tokio::test]
async fn a_cancel_stops_a_pending_request_promptly() {
    let server = ScriptedServer::start(vec![Reply::Silent]).await;
    let mut harness = Harness::start(|_| {}).await;
    harness
        .send(SchedulerMessage::Assign(http(
            1,
            http_get(&server.url("/")),
        )))
        .await;
    let mut attempt = Attempt::default();
    let finished = harness
        .collect_into(task(1), &mut attempt, |attempt| attempt.started.is_some())
        .await;
    assert!(!finished);
    assert!(
        common::eventually(Duration::from_secs(5), || server.requests().len() == 1).await,
        "the request reached the server"
    );
    let begun = Instant::now();
    harness.send(SchedulerMessage::Cancel(task(1))).await;
    assert!(harness.collect_into(task(1), &mut attempt, |_| false).await);
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "{:?}",
        begun.elapsed()
    );
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Cancelled);
    assert_eq!(finished.error, None);
}

#[tokio::test]
async fn a_malformed_request_fails_before_starting() {
    let mut harness = Harness::start(|_| {}).await;
    let attempt = harness.run(http(1, http_get("not a url"))).await;
    let finished = attempt.finished();
    assert_eq!(finished.outcome, TaskOutcome::Failed);
    assert_eq!(finished.started_at, None);
    assert!(attempt.started.is_none());
    assert_eq!(
        finished.error.as_deref(),
        Some(r#"invalid url "not a url": relative URL without a base"#)
    );

    let mut request = http_get("http://127.0.0.1:9/");
    request.expect_json = Some(("status".to_owned(), json!("ok")));
    let attempt = harness.run(http(2, request)).await;
    assert_eq!(
        attempt.finished().error.as_deref(),
        Some(r#"invalid JSON path "status" in expect_json: a JSON path starts with '$'"#)
    );
}
