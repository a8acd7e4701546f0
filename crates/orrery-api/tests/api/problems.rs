//! Every error answer is `application/problem+json`, including the rejections of
//! query strings, path segments and methods, and names the bad field when it can.

use crate::harness::{ADMIN_SECRET, TestApi, raw_problem};
use reqwest::Method;

#[tokio::test]
async fn a_bad_query_parameter_is_a_problem_naming_it() {
    let api = TestApi::start().await;
    for (path, field) in [
        ("/api/v1/runs?limit=-1", "limit"),
        ("/api/v1/runs?limit=many", "limit"),
        ("/api/v1/runs/1/logs?after=x", "after"),
    ] {
        let response = api
            .request(Method::GET, path, ADMIN_SECRET)
            .send()
            .await
            .expect("send");
        let (status, content_type, problem) = raw_problem(response).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(content_type, "application/problem+json", "{path}");
        assert_eq!(problem.code, "invalid_request", "{path}");
        assert_eq!(
            problem.errors.first().map(|e| e.path.as_str()),
            Some(field),
            "{path}: {problem:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_problem() {
    let api = TestApi::start().await;
    let response = api
        .request(Method::PUT, "/api/v1/runs", ADMIN_SECRET)
        .send()
        .await
        .expect("send");
    let allow = response.headers().get("allow").cloned();
    let (status, content_type, problem) = raw_problem(response).await;
    assert_eq!(status, 405);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem.code, "method_not_allowed");
    assert!(allow.is_some(), "the Allow header is kept");
}

#[tokio::test]
async fn deeply_nested_yaml_is_refused_before_it_is_parsed() {
    let api = TestApi::start().await;
    let body = format!("name: deep\ntasks: {}", "[".repeat(200_000));
    let response = api
        .request(Method::POST, "/api/v1/jobs", ADMIN_SECRET)
        .header("content-type", "application/yaml")
        .body(body)
        .send()
        .await
        .expect("send");
    let (status, content_type, problem) = raw_problem(response).await;
    assert_eq!(status, 422);
    assert_eq!(content_type, "application/problem+json");
    assert!(
        problem
            .errors
            .iter()
            .any(|e| e.message.contains("nests deeper than 64")),
        "{problem:?}"
    );
}

#[tokio::test]
async fn readyz_fails_while_the_scheduler_loop_is_stuck() {
    use orrery_core::clock::ManualClock;
    use std::sync::Arc;
    use std::time::Duration;
    for (silence, expected) in [
        (None, 200),
        (Some(Duration::from_secs(1)), 200),
        (Some(Duration::from_secs(30)), 503),
    ] {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let store = orrery_store::Store::open(data_dir.path())
            .await
            .expect("store");
        let clock = Arc::new(ManualClock::new(crate::harness::at(0)));
        let api = TestApi::start_with_silence(store, data_dir, clock, silence).await;
        let response = api
            .http
            .get(format!("{}/readyz", api.base))
            .send()
            .await
            .expect("readyz");
        assert_eq!(
            response.status().as_u16(),
            expected,
            "silent for {silence:?}"
        );
        if expected == 503 {
            let (_, content_type, problem) = raw_problem(response).await;
            assert_eq!(content_type, "application/problem+json");
            assert!(
                problem.detail.contains("has not turned for 30s"),
                "{problem:?}"
            );
        }
    }
}
