//! Data-driven tests of the python, http, job and branch task types.

use crate::spec::{ExpectJson, SpecFormat, TaskKind, parse_job_spec};
use serde_json::json;
use std::collections::BTreeMap;

/// Parses a job `j` whose one task `t` is `task` (YAML flow mapping entries after
/// the name) and compares the problems (`path: message`) with `expected`.
#[track_caller]
fn check(task: &str, expected: &[&str]) {
    let yaml = format!("name: j\ntasks: [{{name: t, {task}}}]");
    let actual: Vec<String> = match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\nspec:\n{yaml}");
}

/// The kind of the task parsed from `task`, which must be valid.
#[track_caller]
fn kind(task: &str) -> TaskKind {
    let yaml = format!("name: j\ntasks: [{{name: t, {task}}}]");
    match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(spec) => spec.tasks[0].kind.clone(),
        Err(errors) => panic!("{task}: {errors}"),
    }
}

#[test]
fn type_names_cover_every_kind() {
    let kinds = [
        kind("type: shell, script: x"),
        kind("type: command, command: [x]"),
        kind("type: noop"),
        kind("type: python, file: x.py"),
        kind("type: http, url: 'https://x'"),
        kind("type: job, job: other"),
        kind("type: branch, script: x"),
    ];
    let names: Vec<&str> = kinds.iter().map(TaskKind::type_name).collect();
    assert_eq!(names, TaskKind::TYPE_NAMES);
}

#[test]
fn python_tasks_take_a_script_or_a_file() {
    assert_eq!(
        kind("type: python, script: 'print(1)'"),
        TaskKind::Python {
            script: Some("print(1)".into()),
            file: None
        }
    );
    assert_eq!(
        kind("type: python, file: 'jobs/{{ params.x }}.py'"),
        TaskKind::Python {
            script: None,
            file: Some("jobs/{{ params.x }}.py".into())
        }
    );
    check(
        "type: python",
        &[r#"tasks[0].script: a python task needs "script" (inline code) or "file" (a path)"#],
    );
    check(
        "type: python, script: x, file: y",
        &[
            r#"tasks[0].file: cannot be combined with "script": a python task runs an inline script or a file, not both"#,
        ],
    );
    check(
        "type: python, script: '', file: [y]",
        &[
            "tasks[0].script: must not be empty",
            "tasks[0].file: expected a string, found a list",
        ],
    );
    check(
        "type: python, script: '{{ x', command: [y]",
        &[
            "tasks[0].script: template syntax error on line 1: unexpected end of input, expected end of variable block",
            "tasks[0].command: not allowed for a python task",
        ],
    );
}

#[test]
fn http_tasks() {
    assert_eq!(
        kind(
            "type: http, method: post, url: 'https://api/{{ params.id }}', \
             headers: {Authorization: 'Bearer {{ params.token }}', X-Count: 3}, \
             body: '{\"a\": 1}', expect_status: [200, 201], \
             expect_json: {path: $.status, equals: ok}"
        ),
        TaskKind::Http {
            method: "POST".into(),
            url: "https://api/{{ params.id }}".into(),
            headers: BTreeMap::from([
                ("Authorization".into(), "Bearer {{ params.token }}".into()),
                ("X-Count".into(), "3".into()),
            ]),
            body: Some("{\"a\": 1}".into()),
            expect_status: vec![200, 201],
            expect_json: Some(ExpectJson {
                path: "$.status".into(),
                equals: json!("ok"),
            }),
        }
    );
    assert_eq!(
        kind("type: http, url: 'http://x', expect_json: {path: '$.items[0]', equals: null}"),
        TaskKind::Http {
            method: "GET".into(),
            url: "http://x".into(),
            headers: BTreeMap::new(),
            body: None,
            expect_status: vec![],
            expect_json: Some(ExpectJson {
                path: "$.items[0]".into(),
                equals: json!(null),
            }),
        }
    );
    check(
        "type: http",
        &[r#"tasks[0].url: missing required field "url" for a http task"#],
    );
    check(
        "type: http, method: FETCH, url: 'ftp://x'",
        &[
            r#"tasks[0].method: unknown HTTP method "FETCH" (one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), did you mean "PATCH"?"#,
            r#"tasks[0].url: expected an http:// or https:// URL, found "ftp://x""#,
        ],
    );
    check(
        "type: http, method: gett, url: '{{ params.url', body: {a: 1}",
        &[
            r#"tasks[0].method: unknown HTTP method "gett" (one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), did you mean "GET"?"#,
            "tasks[0].url: template syntax error on line 1: unexpected end of input, expected end of variable block",
            "tasks[0].body: expected a string, found a mapping",
        ],
    );
    check(
        "type: http, url: 'https://x', headers: {'Bad Name': a, X-A: [b], X-B: \"a\\nb\", X-C: '{{'}",
        &[
            "tasks[0].headers[\"Bad Name\"]: invalid header name \"Bad Name\": use letters, digits and !#$%&'*+-.^_`|~, without spaces",
            "tasks[0].headers.X-A: expected a string, found a list",
            "tasks[0].headers.X-B: a header value must be a single line",
            "tasks[0].headers.X-C: template syntax error on line 1: unexpected end of input, expected expression",
        ],
    );
    check(
        "type: http, url: 'https://x', expect_status: [200, 99, 600, '201', 200]",
        &[
            "tasks[0].expect_status[1]: must be at least 100, found 99",
            "tasks[0].expect_status[2]: must be at most 599, found 600",
            "tasks[0].expect_status[3]: expected a whole number from 100 to 599, found a string",
            "tasks[0].expect_status[4]: duplicate status 200 (already listed at expect_status[0])",
        ],
    );
    check(
        "type: http, url: 'https://x', headers: {Accept: a, accept: b, ACCEPT: c}",
        &[
            r#"tasks[0].headers.Accept: duplicate header "Accept": header names ignore case and "ACCEPT" is already set"#,
            r#"tasks[0].headers.accept: duplicate header "accept": header names ignore case and "ACCEPT" is already set"#,
        ],
    );
    check(
        "type: http, url: 'https://x', expect_status: 200",
        &["tasks[0].expect_status: expected a list, found a number"],
    );
    check(
        "type: http, url: 'https://x', expect_json: {path: status, equal: ok}",
        &[
            r#"tasks[0].expect_json.equal: unknown field "equal", did you mean "equals"?"#,
            r#"tasks[0].expect_json.path: must start with "$" (such as "$.status"), found "status""#,
            r#"tasks[0].expect_json.equals: missing required field "equals" (the value expected at the path)"#,
        ],
    );
    check(
        "type: http, url: 'https://x', expect_json: {equals: 1}",
        &[r#"tasks[0].expect_json.path: missing required field "path" (such as "$.status")"#],
    );
    check(
        "type: http, url: 'https://x', expect_json: $.a",
        &["tasks[0].expect_json: expected a mapping, found a string"],
    );
    check(
        "type: shell, script: x, url: 'https://x', method: GET, headers: {}, body: b, expect_status: [], expect_json: {}",
        &[
            "tasks[0].method: not allowed for a shell task",
            "tasks[0].url: not allowed for a shell task",
            "tasks[0].headers: not allowed for a shell task",
            "tasks[0].body: not allowed for a shell task",
            "tasks[0].expect_status: not allowed for a shell task",
            "tasks[0].expect_json: not allowed for a shell task",
        ],
    );
}

#[test]
fn job_tasks_start_another_job() {
    assert_eq!(
        kind("type: job, job: child, params: {date: '{{ logical_date | date }}', n: [1, {x: 2}]}"),
        TaskKind::Job {
            job: "child".into(),
            params: BTreeMap::from([
                ("date".into(), json!("{{ logical_date | date }}")),
                ("n".into(), json!([1, {"x": 2}])),
            ]),
        }
    );
    assert_eq!(
        kind("type: job, job: child"),
        TaskKind::Job {
            job: "child".into(),
            params: BTreeMap::new(),
        }
    );
    check(
        "type: job",
        &[r#"tasks[0].job: missing required field "job" for a job task"#],
    );
    check(
        "type: job, job: Child, params: [1]",
        &[
            "tasks[0].job: invalid name \"Child\": use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
            "tasks[0].params: expected a mapping, found a list",
        ],
    );
    check(
        "type: job, job: child, params: {a: [x, '{{ y'], b: {c: '{% if %}'}}",
        &[
            "tasks[0].params.a[1]: template syntax error on line 1: unexpected end of input, expected end of variable block",
            "tasks[0].params.b.c: template syntax error on line 1: unexpected end of block",
        ],
    );
    check(
        "type: job, job: j",
        &[
            r#"tasks[0].job: a task cannot start a run of its own job "j" (it would start itself forever)"#,
        ],
    );
    // The self reference is found even when the task has other problems.
    check(
        "type: job, job: j, timeout: x",
        &[
            r#"tasks[0].timeout: invalid duration "x": expected a number before "x""#,
            r#"tasks[0].job: a task cannot start a run of its own job "j" (it would start itself forever)"#,
        ],
    );
    check(
        "type: noop, job: x, params: {}",
        &[
            "tasks[0].job: not allowed for a noop task",
            "tasks[0].params: not allowed for a noop task",
        ],
    );
}

#[test]
fn branch_tasks_run_a_script() {
    assert_eq!(
        kind("type: branch, script: 'echo next=a,b >> $ORRERY_OUTPUT'"),
        TaskKind::Branch {
            script: "echo next=a,b >> $ORRERY_OUTPUT".into()
        }
    );
    check(
        "type: branch",
        &[r#"tasks[0].script: missing required field "script" for a branch task"#],
    );
    check(
        "type: branch, script: ' ', file: x",
        &[
            "tasks[0].script: must not be empty",
            "tasks[0].file: not allowed for a branch task",
        ],
    );
}
