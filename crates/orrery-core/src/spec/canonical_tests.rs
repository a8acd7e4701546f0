//! Round trips of specs that use every workflow field: YAML and JSON input, canonical
//! JSON, serde, and canonical JSON written before those fields existed.

use super::*;
use crate::spec::{ForEach, ParamType, RetryBackoff, RetryOn, TaskKind, TriggerRule};
use serde_json::json;

const EVERYTHING: &str = r#"
name: pipeline
description: Everything at once
timeout: 6h
on_failure: alert
on_success: report
alerts: {severity: critical, labels: {team: payments}, retrying: true}
sla: {max_duration: 45m, finish_by: "06:30", start_by: 5m}
schedule: {cron: "0 2 * * *"}
params:
  region: cn
  date: {type: string, required: true, description: The day}
  limit: {type: int, default: 10}
  flags: {type: object, default: {type: x}}
tasks:
  - name: list
    type: python
    script: "print('files=a,b')"
    priority: 5
  - name: fetch
    type: http
    method: post
    url: "https://api.example/{{ params.region }}"
    headers: {Accept: application/json}
    body: '{"limit": {{ params.limit }}}'
    expect_status: [202, 200]
    expect_json: {path: $.status, equals: {ok: true}}
    retries: 4
    retry_delay: 1s
    retry_backoff: exponential
    retry_max_delay: 30s
    retry_jitter: true
    retry_on: [timed_out, failed]
    depends_on: [list]
  - name: process
    type: shell
    script: echo {{ item }}
    for_each: "{{ tasks.list.outputs.files | split(',') }}"
    max_parallel: 8
    depends_on: [list]
    trigger_rule: none_failed_min_one_success
    when: "{{ tasks.list.outputs.files != '' }}"
  - name: literal
    type: noop
    for_each: [1, two, {three: 3}]
  - name: child
    type: job
    job: other
    params: {date: "{{ params.date }}", n: 2}
    depends_on: [process, fetch]
    trigger_rule: all_done
  - name: choose
    type: branch
    script: echo next=child
    depends_on: [literal]
    priority: -3
  - name: run-file
    type: python
    file: jobs/x.py
  - name: alert
    type: noop
  - name: report
    type: command
    command: [echo, done]
"#;

fn everything() -> JobSpec {
    parse_job_spec(EVERYTHING, SpecFormat::Yaml).unwrap_or_else(|errors| panic!("{errors}"))
}

#[test]
fn every_field_is_read() {
    let spec = everything();
    assert_eq!(spec.timeout.map(|t| t.to_string()).as_deref(), Some("6h"));
    assert_eq!(
        (spec.on_failure.as_deref(), spec.on_success.as_deref()),
        (Some("alert"), Some("report"))
    );
    assert_eq!(
        spec.params,
        [
            ("flags".to_owned(), json!({"type": "x"})),
            ("limit".to_owned(), json!(10)),
            ("region".to_owned(), json!("cn")),
        ]
        .into()
    );
    let kinds: Vec<(&str, ParamType)> = spec
        .param_types
        .iter()
        .map(|(name, param)| (name.as_str(), param.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("date", ParamType::String),
            ("flags", ParamType::Object),
            ("limit", ParamType::Int)
        ]
    );
    let fetch = spec.task("fetch").expect("fetch");
    assert_eq!(fetch.retry_backoff, RetryBackoff::Exponential);
    assert_eq!(fetch.retry_on, vec![RetryOn::Failed, RetryOn::TimedOut]);
    let TaskKind::Http {
        method,
        expect_status,
        ..
    } = &fetch.kind
    else {
        panic!("fetch is an http task: {:?}", fetch.kind);
    };
    // Statuses are sorted, so their order in the spec does not change the canonical form.
    assert_eq!(
        (method.as_str(), expect_status.as_slice()),
        ("POST", &[200, 202][..])
    );
    let process = spec.task("process").expect("process");
    assert_eq!(process.trigger_rule, TriggerRule::NoneFailedMinOneSuccess);
    assert_eq!(
        process.when.as_deref(),
        Some("tasks.list.outputs.files != ''")
    );
    assert!(matches!(process.for_each, Some(ForEach::Template(_))));
    assert_eq!(spec.task("choose").map(|t| t.priority), Some(-3));
}

#[test]
fn canonical_json_round_trips_with_every_field() {
    let spec = everything();
    let canonical = spec.to_canonical_json();
    assert_eq!(
        parse_job_spec(&canonical, SpecFormat::Json).map_err(|e| e.to_string()),
        Ok(spec.clone())
    );
    let back: Result<JobSpec, _> = serde_json::from_str(&canonical);
    assert_eq!(back.map_err(|e| e.to_string()), Ok(spec.clone()));
    assert_eq!(
        parse_job_spec(&canonical, SpecFormat::Json)
            .map(|again| again.to_canonical_json())
            .ok(),
        Some(canonical.clone())
    );

    for expected in [
        // Typed params come back typed, plain ones plain.
        r#""params":{"date":{"description":"The day","required":true,"type":"string"},"flags":{"default":{"type":"x"},"type":"object"},"limit":{"default":10,"type":"int"},"region":"cn"}"#,
        r#""timeout":"6h""#,
        r#""on_failure":"alert","on_success":"report""#,
        r#""method":"POST""#,
        r#""when":"tasks.list.outputs.files != ''""#,
        r#""retry_on":["failed","timed_out"]"#,
        r#""trigger_rule":"none_failed_min_one_success""#,
        r#""for_each":[1,"two",{"three":3}]"#,
        r#""max_parallel":8"#,
        // Defaults are spelled out, retry_on included.
        r#""name":"alert","priority":0,"retries":0,"retry_backoff":"fixed","retry_jitter":false,"retry_on":["failed","timed_out","lost"],"trigger_rule":"all_success","type":"noop""#,
    ] {
        assert!(
            canonical.contains(expected),
            "{expected}\nnot in\n{canonical}"
        );
    }
}

#[test]
fn the_same_spec_in_json_reads_the_same() {
    let document: serde_json::Value = yaml_serde::from_str(EVERYTHING).expect("yaml");
    let text = serde_json::to_string_pretty(&document).expect("serializes");
    assert_eq!(
        parse_job_spec(&text, SpecFormat::Json).map_err(|e| e.to_string()),
        Ok(everything())
    );

    let bad = json!({
        "name": "j",
        "on_failure": "nope",
        "params": {"n": {"type": "int", "default": "x"}},
        "tasks": [
            {"name": "a", "type": "http", "url": "https://x", "expect_status": [700]},
            {"name": "b", "type": "noop", "when": "a >", "priority": 5000},
        ],
    });
    assert_eq!(
        parse_job_spec(&bad.to_string(), SpecFormat::Json)
            .map_err(|e| e.to_string())
            .err()
            .as_deref(),
        Some(
            "params.n.default: expected an int, found a string\n\
             tasks[0].expect_status[0]: must be at most 599, found 700\n\
             tasks[1].when: template syntax error on line 1: unexpected end of input, expected expression\n\
             tasks[1].priority: must be at most 1000, found 5000\n\
             on_failure: unknown task \"nope\" (known tasks: a, b)"
        )
    );
}

#[test]
fn canonical_json_from_before_the_workflow_fields_still_reads() {
    let old = r#"{"name":"j","params":{"region":"cn"},"project":"default","tasks":[{"name":"a","retries":2,"retry_delay":"5s","script":"echo","type":"shell"},{"depends_on":["a"],"name":"b","retries":0,"type":"noop"}]}"#;
    let parsed = parse_job_spec(old, SpecFormat::Json).expect("valid");
    let deserialized: JobSpec = serde_json::from_str(old).expect("deserializes");
    assert_eq!(parsed, deserialized);
    let task = &parsed.tasks[0];
    assert_eq!(task.trigger_rule, TriggerRule::AllSuccess);
    assert_eq!(task.retry_on, RetryOn::all());
    assert_eq!(task.retry_backoff, RetryBackoff::Fixed);
    assert_eq!((task.priority, task.retry_jitter), (0, false));
    assert!(parsed.param_types.is_empty() && parsed.timeout.is_none());
}
