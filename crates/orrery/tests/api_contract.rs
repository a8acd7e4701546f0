//! The API's contract for bad input and lookups: problem documents with stable codes
//! and field paths, never a 500, and versioning on apply.

use orrery_client::ClientError;
use orrery_client::types::{ApplyStatus, Problem};
use orrery_testkit::TestServer;

fn problem(error: ClientError) -> Problem {
    match error {
        ClientError::Api(problem) => *problem,
        other => panic!("expected a problem document, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_are_refused_with_every_problem_and_its_path() {
    let server = TestServer::start().await;
    let spec = r#"
name: Bad_Name
tasks:
  - {name: extract, type: shell, script: "echo", timeout: 10x}
  - {name: load, type: command, command: [echo], depends_on: [extract, nope], scirpt: x}
  - {name: extract, type: noop}
"#;
    let p = problem(
        server
            .client
            .apply(spec, "yaml")
            .await
            .expect_err("refused"),
    );
    assert_eq!((p.status, p.code.as_str()), (422, "invalid_spec"));
    let paths: Vec<&str> = p.errors.iter().map(|e| e.path.as_str()).collect();
    for expected in [
        "name",
        "tasks[0].timeout",
        "tasks[1].depends_on[1]",
        "tasks[1].scirpt",
        "tasks[2].name",
    ] {
        assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_reports_line_and_column() {
    let server = TestServer::start().await;
    let p = problem(
        server
            .client
            .apply("name: x\ntasks:\n  - name: [unclosed\n", "yaml")
            .await
            .expect_err("refused"),
    );
    assert_eq!(p.status, 422);
    let first = p.errors.first().expect("one error");
    assert!(first.line.is_some() && first.column.is_some(), "{first:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_is_refused_naming_its_tasks_in_order() {
    let server = TestServer::start().await;
    let spec = "name: loop\ntasks:\n  - {name: extract, type: noop, depends_on: [load]}\n  - {name: load, type: noop, depends_on: [extract]}\n";
    let p = problem(
        server
            .client
            .apply(spec, "yaml")
            .await
            .expect_err("refused"),
    );
    assert!(
        p.errors
            .iter()
            .any(|e| e.message.contains("extract → load → extract")),
        "{p:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_versions_only_changed_specs_and_runs_record_their_version() {
    let server = TestServer::start().await;
    let v1 = "name: versioned\ntasks:\n  - {name: t, type: noop}\n";
    let v2 = "name: versioned\ntasks:\n  - {name: t, type: noop}\n  - {name: u, type: noop}\n";
    let first = server.client.apply(v1, "yaml").await.expect("apply");
    assert_eq!((first.status, first.version), (ApplyStatus::Created, 1));
    let same = server.client.apply(v1, "yaml").await.expect("apply");
    assert_eq!((same.status, same.version), (ApplyStatus::Unchanged, 1));
    let run1 = server.run_to_end("versioned").await;
    let second = server.client.apply(v2, "yaml").await.expect("apply");
    assert_eq!((second.status, second.version), (ApplyStatus::Updated, 2));
    let run2 = server.run_to_end("versioned").await;
    assert_eq!((run1.job_version, run1.tasks.len()), (1, 1));
    assert_eq!((run2.job_version, run2.tasks.len()), (2, 2));
    let job = server.client.get_job("versioned").await.expect("job");
    let versions: Vec<u32> = job.versions.iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![2, 1]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_404_problems() {
    let server = TestServer::start().await;
    let p = problem(server.client.get_run(999).await.expect_err("no run"));
    assert_eq!((p.status, p.code.as_str()), (404, "not_found"));
    let p = problem(server.client.get_job("nope").await.expect_err("no job"));
    assert_eq!(p.status, 404);
    let p = problem(
        server
            .client
            .start_run("nope", &Default::default())
            .await
            .expect_err("no job"),
    );
    assert_eq!(p.status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_run_params_are_refused_by_name() {
    let server = TestServer::start().await;
    server
        .apply("name: p\nparams: {region: cn}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    let mut request = orrery_client::types::StartRunRequest::default();
    request.params.insert("regoin".into(), "eu".into());
    let p = problem(
        server
            .client
            .start_run("p", &request)
            .await
            .expect_err("refused"),
    );
    assert_eq!(p.status, 400);
    assert_eq!(
        p.errors.first().map(|e| e.path.as_str()),
        Some("params.regoin")
    );
    assert!(p.detail.contains("region"), "{p:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_spec_is_413_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let huge = format!(
        "name: huge\ndescription: \"{}\"\ntasks:\n  - {{name: t, type: noop}}\n",
        "x".repeat(5 * 1024 * 1024)
    );
    let p = problem(
        server
            .client
            .apply(&huge, "yaml")
            .await
            .expect_err("refused"),
    );
    assert_eq!((p.status, p.code.as_str()), (413, "payload_too_large"));
    // The server closes a connection whose body it refused to read, so ask on a new one.
    let fresh = orrery_client::Client::new(
        &server.server.url(),
        Some(server.server.admin_token.clone()),
    );
    fresh
        .apply("name: small\ntasks:\n  - {name: t, type: noop}\n", "yaml")
        .await
        .expect("still serving");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_call_needs_a_token_but_health_does_not() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = server.server.url();
    let anonymous = http
        .get(format!("{url}/api/v1/jobs"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let wrong = http
        .get(format!("{url}/api/v1/jobs"))
        .bearer_auth("orr_wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        http.get(format!("{url}/healthz"))
            .send()
            .await
            .expect("request")
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{url}/readyz"))
            .send()
            .await
            .expect("request")
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start().await;
    let metadata = std::fs::metadata(server.data_dir().join("admin.token")).expect("token file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route() {
    let server = TestServer::start().await;
    let doc: serde_json::Value =
        reqwest::get(format!("{}/api/v1/openapi.json", server.server.url()))
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
    let paths = doc.get("paths").and_then(|p| p.as_object()).expect("paths");
    for path in [
        "/api/v1/jobs",
        "/api/v1/jobs/{name}/runs",
        "/api/v1/runs/{id}",
        "/api/v1/runs/{id}/logs",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_runs_filters_and_pages() {
    let server = TestServer::start().await;
    server
        .apply("name: a\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    server
        .apply("name: b\ntasks:\n  - {name: t, type: shell, script: 'exit 1'}\n")
        .await;
    for _ in 0..3 {
        server.run_to_end("a").await;
    }
    server.run_to_end("b").await;
    let filter = orrery_client::RunFilter {
        job: Some("a".into()),
        limit: Some(2),
        ..Default::default()
    };
    let page = server.client.list_runs(&filter).await.expect("list");
    assert_eq!(page.items.len(), 2);
    assert!(page.items.iter().all(|r| r.job == "a"));
    let next = orrery_client::RunFilter {
        cursor: page.next_cursor.clone(),
        ..filter.clone()
    };
    let rest = server.client.list_runs(&next).await.expect("list");
    assert_eq!(rest.items.len(), 1);
    let failed = orrery_client::RunFilter {
        state: Some("failed".into()),
        ..Default::default()
    };
    let failed = server.client.list_runs(&failed).await.expect("list");
    assert_eq!(
        failed
            .items
            .iter()
            .map(|r| r.job.as_str())
            .collect::<Vec<_>>(),
        vec!["b"]
    );
    let bad = orrery_client::RunFilter {
        state: Some("exploded".into()),
        ..Default::default()
    };
    let p = problem(server.client.list_runs(&bad).await.expect_err("refused"));
    assert_eq!(
        (p.status, p.errors.first().map(|e| e.path.as_str())),
        (400, Some("state"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_applies_all_succeed() {
    let server = TestServer::start().await;
    let mut handles = Vec::new();
    for i in 0..16 {
        let client = server.client.clone();
        handles.push(tokio::spawn(async move {
            let spec = format!("name: job-{i}\nschedule: {{cron: '0 3 * * *'}}\ntasks:\n  - {{name: t, type: noop}}\n");
            client.apply(&spec, "yaml").await
        }));
    }
    for handle in handles {
        handle
            .await
            .expect("join")
            .expect("every concurrent apply succeeds");
    }
    assert_eq!(server.client.list_jobs().await.expect("jobs").len(), 16);
    server.stop().await;
}
