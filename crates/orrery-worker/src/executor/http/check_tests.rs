//! Tests of the response checks.

use super::*;
use serde_json::json;

fn request(expect_status: &[u16], expect_json: Option<(&str, Value)>) -> HttpRequest {
    HttpRequest {
        method: "GET".to_owned(),
        url: "http://example.test/".to_owned(),
        headers: Vec::new(),
        body: None,
        expect_status: expect_status.to_vec(),
        expect_json: expect_json.map(|(path, value)| (path.to_owned(), value)),
        max_body_bytes: 1024,
    }
}

fn expectations(expect_status: &[u16], expect_json: Option<(&str, Value)>) -> Expectations {
    Expectations::from_request(&request(expect_status, expect_json)).expect("valid expectations")
}

#[test]
fn statuses_default_to_2xx_and_a_list_replaces_the_default() {
    let check = |expect_status: &[u16], status, expected: Result<(), &str>| {
        let result = expectations(expect_status, None).check_status(status);
        assert_eq!(
            result.map_err(|error| error.to_string()),
            expected.map_err(str::to_owned),
            "expect_status {expect_status:?}, status {status}"
        );
    };
    check(&[], 200, Ok(()));
    check(&[], 204, Ok(()));
    check(&[], 299, Ok(()));
    check(&[], 199, Err("expected status 2xx, got 199"));
    check(&[], 301, Err("expected status 2xx, got 301"));
    check(&[], 503, Err("expected status 2xx, got 503"));
    check(&[404], 404, Ok(()));
    check(&[404], 200, Err("expected status 404, got 200"));
    check(&[200, 204], 500, Err("expected status 200 or 204, got 500"));
    check(
        &[200, 201, 204],
        202,
        Err("expected status 200, 201 or 204, got 202"),
    );
}

#[test]
fn the_json_body_is_checked_at_the_path() {
    let check = |path: &str, expected: Value, body: &str, result: Result<(), &str>| {
        let outcome = expectations(&[], Some((path, expected))).check_body(body.as_bytes());
        assert_eq!(
            outcome.map_err(|error| error.to_string()),
            result.map_err(str::to_owned),
            "path {path}, body {body}"
        );
    };
    let body = r#"{"status": "ok", "code": 200, "ratio": 0.5, "items": [1, 2.0], "flag": false}"#;
    check("$.status", json!("ok"), body, Ok(()));
    check("$.code", json!(200), body, Ok(()));
    check("$.code", json!(200.0), body, Ok(()));
    check("$.ratio", json!(0.5), body, Ok(()));
    check("$.items", json!([1, 2]), body, Ok(()));
    check("$.flag", json!(false), body, Ok(()));
    check(
        "$.status",
        json!("degraded"),
        body,
        Err(r#"$.status is "ok", expected "degraded""#),
    );
    check(
        "$.code",
        json!("200"),
        body,
        Err(r#"$.code is 200, expected "200""#),
    );
    check(
        "$.missing",
        json!("ok"),
        body,
        Err("$.missing not found in the response"),
    );
    check(
        "$.items[5]",
        json!(1),
        body,
        Err("$.items[5] not found in the response"),
    );
    let error = expectations(&[], Some(("$.status", json!("ok"))))
        .check_body(b"<html>")
        .expect_err("not JSON");
    assert!(
        error
            .to_string()
            .starts_with("the response body is not JSON: expected value"),
        "{error}"
    );
}

#[test]
fn without_expect_json_any_body_passes() {
    let expectations = expectations(&[], None);
    assert!(!expectations.checks_body());
    assert_eq!(expectations.check_body(b"\xff not json"), Ok(()));
}

#[test]
fn a_malformed_path_is_refused_before_sending() {
    let error = Expectations::from_request(&request(&[], Some(("status", json!("ok")))))
        .expect_err("no root");
    assert_eq!(
        error.to_string(),
        r#"invalid JSON path "status" in expect_json: a JSON path starts with '$'"#
    );
}

#[test]
fn long_values_are_shortened_in_errors() {
    let long = "x".repeat(500);
    let body = serde_json::to_vec(&json!({ "a": long })).expect("serialize");
    let error = expectations(&[], Some(("$.a", json!("y"))))
        .check_body(&body)
        .expect_err("mismatch");
    let text = error.to_string();
    assert!(text.contains('…') && text.len() < 300, "{text}");
}
