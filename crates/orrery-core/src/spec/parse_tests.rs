//! Tests of parsing: the full example, syntax errors, JSON input, canonical JSON.

use super::*;
use crate::duration::HumanDuration;
use crate::spec::{
    DispatchMode, IsolationMode, ResourceRequest, RetryBackoff, RetryOn, SpecError, TaskKind,
    TaskSpec, TriggerRule, WorkerSelector,
};
use std::collections::BTreeMap;
use std::time::Duration;

const EXAMPLE: &str = r#"
name: etl-daily
project: default
description: Daily report
params: {region: cn}
tasks:
  - name: extract
    type: shell
    script: |
      echo "rows=42" >> "$ORRERY_OUTPUT"
      echo "extracting {{ params.region }}"
    env: {LANG: C.UTF-8}
    working_dir: /tmp
    timeout: 10m
    retries: 2
    retry_delay: 5s
  - name: load
    type: command
    command: ["/bin/echo", "loading"]
    depends_on: [extract]
"#;

fn expected_example() -> JobSpec {
    JobSpec {
        name: "etl-daily".into(),
        project: "default".into(),
        description: Some("Daily report".into()),
        params: BTreeMap::from([("region".into(), serde_json::json!("cn"))]),
        param_types: BTreeMap::new(),
        tasks: vec![
            TaskSpec {
                name: "extract".into(),
                kind: TaskKind::Shell {
                    script: "echo \"rows=42\" >> \"$ORRERY_OUTPUT\"\n\
                             echo \"extracting {{ params.region }}\"\n"
                        .into(),
                },
                env: BTreeMap::from([("LANG".into(), "C.UTF-8".into())]),
                working_dir: Some("/tmp".into()),
                timeout: Some(HumanDuration(Duration::from_secs(600))),
                retries: 2,
                retry_delay: Some(HumanDuration(Duration::from_secs(5))),
                retry_backoff: RetryBackoff::Fixed,
                retry_max_delay: None,
                retry_jitter: false,
                retry_on: RetryOn::all(),
                depends_on: vec![],
                trigger_rule: TriggerRule::AllSuccess,
                when: None,
                priority: 0,
                for_each: None,
                max_parallel: None,
                worker: WorkerSelector::default(),
                resources: ResourceRequest::default(),
                isolation: IsolationMode::None,
                network: false,
                run_as: None,
                dispatch: DispatchMode::Any,
                affinity_key: None,
            },
            TaskSpec {
                name: "load".into(),
                kind: TaskKind::Command {
                    command: vec!["/bin/echo".into(), "loading".into()],
                },
                env: BTreeMap::new(),
                working_dir: None,
                timeout: None,
                retries: 0,
                retry_delay: None,
                retry_backoff: RetryBackoff::Fixed,
                retry_max_delay: None,
                retry_jitter: false,
                retry_on: RetryOn::all(),
                depends_on: vec!["extract".into()],
                trigger_rule: TriggerRule::AllSuccess,
                when: None,
                priority: 0,
                for_each: None,
                max_parallel: None,
                worker: WorkerSelector::default(),
                resources: ResourceRequest::default(),
                isolation: IsolationMode::None,
                network: false,
                run_as: None,
                dispatch: DispatchMode::Any,
                affinity_key: None,
            },
        ],
        schedule: None,
        timeout: None,
        on_failure: None,
        on_success: None,
        alerts: None,
        sla: None,
    }
}

fn errors(text: &str, format: SpecFormat) -> Vec<SpecError> {
    parse_job_spec(text, format).expect_err("invalid spec").0
}

#[test]
fn the_full_example_parses() {
    assert_eq!(
        parse_job_spec(EXAMPLE, SpecFormat::Yaml),
        Ok(expected_example())
    );
}

#[test]
fn project_defaults_and_kind_job_is_accepted() {
    let spec = parse_job_spec(
        "kind: Job\nname: j\ntasks: [{name: a, type: noop}]\n",
        SpecFormat::Yaml,
    )
    .expect("valid");
    assert_eq!(spec.project, crate::spec::DEFAULT_PROJECT);
    assert_eq!(spec.tasks[0].kind, TaskKind::Noop);
}

#[test]
fn malformed_yaml_reports_line_and_column() {
    let text = "name: etl\ntasks:\n  - name: a\n    type: [shell\n";
    let errors = errors(text, SpecFormat::Yaml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert_eq!(error.path, "");
    assert_eq!((error.line, error.column), (Some(5), Some(1)), "{error:?}");
    // The parser's own position is dropped from the message; its context stays.
    assert_eq!(
        error.message,
        "did not find expected ',' or ']', while parsing a flow sequence at line 4 column 11"
    );
    assert!(
        error.to_string().starts_with("line 5, column 1: "),
        "{error}"
    );

    let errors = errors_of_tab_indent();
    assert_eq!(errors[0].line, Some(3), "{errors:?}");
}

fn errors_of_tab_indent() -> Vec<SpecError> {
    errors("name: etl\ntasks:\n\t- name: a\n", SpecFormat::Yaml)
}

#[test]
fn malformed_json_reports_line_and_column() {
    let text = "{\n  \"name\": \"etl\",\n  \"tasks\": [,]\n}";
    let errors = errors(text, SpecFormat::Json);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].column),
        (Some(3), Some(13)),
        "{errors:?}"
    );
    assert_eq!(errors[0].message, "expected value");
    let trailing = self::errors("{\"name\": \"a\"} x", SpecFormat::Json);
    assert_eq!(trailing[0].line, Some(1), "{trailing:?}");
}

#[test]
fn repeated_keys_are_syntax_errors() {
    let yaml = "name: a\ntasks:\n  - name: x\n    type: noop\n    name: y\n";
    let errors = errors(yaml, SpecFormat::Yaml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .message
            .contains("duplicate entry with key \"name\""),
        "{errors:?}"
    );
    assert!(errors[0].line.is_some(), "{errors:?}");
    // Keys that only become equal as strings.
    let errors = self::errors(
        "name: a\nparams: {1: x, '1': y}\ntasks: []",
        SpecFormat::Yaml,
    );
    assert_eq!(
        errors,
        vec![SpecError::at("params[\"1\"]", "duplicate key \"1\"")]
    );

    let json = "{\"name\": \"a\",\n \"name\": \"b\", \"tasks\": []}";
    let errors = self::errors(json, SpecFormat::Json);
    assert!(
        errors[0].message.contains("duplicate key \"name\""),
        "{errors:?}"
    );
    assert_eq!(errors[0].line, Some(2), "{errors:?}");
}

#[test]
fn empty_documents_are_reported() {
    for (text, format) in [
        ("", SpecFormat::Yaml),
        ("  \n", SpecFormat::Json),
        ("# only a comment\n", SpecFormat::Yaml),
    ] {
        let errors = errors(text, format);
        assert_eq!(
            errors,
            vec![SpecError::at("", "the document is empty")],
            "{text:?}"
        );
    }
    let errors = errors("[1, 2]", SpecFormat::Json);
    assert_eq!(
        errors,
        vec![SpecError::at("", "expected a mapping, found a list")]
    );
}

#[test]
fn json_input_works_the_same() {
    let json = serde_json::json!({
        "name": "etl-daily",
        "project": "default",
        "description": "Daily report",
        "params": {"region": "cn"},
        "tasks": [
            {
                "name": "extract",
                "type": "shell",
                "script": "echo \"rows=42\" >> \"$ORRERY_OUTPUT\"\necho \"extracting {{ params.region }}\"\n",
                "env": {"LANG": "C.UTF-8"},
                "working_dir": "/tmp",
                "timeout": "10m",
                "retries": 2,
                "retry_delay": "5s"
            },
            {"name": "load", "type": "command", "command": ["/bin/echo", "loading"], "depends_on": ["extract"]}
        ]
    });
    let text = serde_json::to_string_pretty(&json).expect("serializes");
    assert_eq!(
        parse_job_spec(&text, SpecFormat::Json),
        Ok(expected_example())
    );

    let bad = r#"{"name": "Bad", "tasks": [{"name": "a", "type": "noop", "timeout": 30}]}"#;
    assert_eq!(
        SpecErrors(errors(bad, SpecFormat::Json)).to_string(),
        "name: invalid name \"Bad\": use lowercase letters, digits, '.', '_' and '-', \
         starting with a letter or digit\n\
         tasks[0].timeout: expected a duration string like \"30s\", found a number"
    );
}

#[test]
fn canonical_json_round_trips_and_is_stable() {
    let spec = expected_example();
    let canonical = spec.to_canonical_json();
    assert_eq!(
        parse_job_spec(&canonical, SpecFormat::Json),
        Ok(spec.clone())
    );
    assert!(canonical.contains("\"timeout\":\"10m\""), "{canonical}");

    // The same spec written differently (key order, a 600s timeout) is the same text.
    let reordered = EXAMPLE
        .replace("timeout: 10m", "timeout: 600s")
        .replace("params: {region: cn}", "params: {region: cn}\nkind: Job");
    let reparsed = parse_job_spec(&reordered, SpecFormat::Yaml).expect("valid");
    assert_eq!(reparsed.to_canonical_json(), canonical);

    let nested = parse_job_spec(
        "name: j\nparams: {b: {y: 1, x: [2, {d: 1, c: 2}]}, a: 1.5}\ntasks: [{name: t, type: noop}]",
        SpecFormat::Yaml,
    )
    .expect("valid");
    let text = nested.to_canonical_json();
    assert!(
        text.contains(r#""params":{"a":1.5,"b":{"x":[2,{"c":2,"d":1}],"y":1}}"#),
        "{text}"
    );
    assert_eq!(parse_job_spec(&text, SpecFormat::Json), Ok(nested));
}

#[test]
fn canonical_json_also_deserializes_with_serde() {
    let spec = expected_example();
    let back: Result<JobSpec, _> = serde_json::from_str(&spec.to_canonical_json());
    assert_eq!(back.map_err(|e| e.to_string()), Ok(spec));
}

#[test]
fn format_from_path() {
    assert_eq!(
        SpecFormat::from_path("jobs/etl.yaml"),
        Some(SpecFormat::Yaml)
    );
    assert_eq!(SpecFormat::from_path("etl.YML"), Some(SpecFormat::Yaml));
    assert_eq!(
        SpecFormat::from_path("a.b/etl.json"),
        Some(SpecFormat::Json)
    );
    assert_eq!(SpecFormat::from_path("etl.toml"), None);
    assert_eq!(SpecFormat::from_path("yaml"), None);
}

#[test]
fn yaml_anchors_merge_keys_and_scalar_keys_are_resolved() {
    let yaml = "\u{feff}name: j
tasks:
  - &base {name: a, type: noop, retries: 3, params_free: 1}
  - {<<: *base, name: b}
";
    let errors = errors(yaml, SpecFormat::Yaml);
    // The merged task inherits every field of the anchored one, typo included.
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["tasks[0].params_free", "tasks[1].params_free"]);

    let yaml = "name: j
tasks:
  - &base {name: a, type: noop, retries: 3, env: {1: x, true: y}}
  - {<<: *base, name: b}
";
    let errors = self::errors(yaml, SpecFormat::Yaml);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["tasks[0].env[\"1\"]", "tasks[1].env[\"1\"]"]);

    let yaml =
        "name: j\ntasks:\n  - &base {name: a, type: noop, retries: 3}\n  - {<<: *base, name: b}\n";
    let spec = parse_job_spec(yaml, SpecFormat::Yaml).expect("valid");
    assert_eq!(
        (spec.tasks[1].name.as_str(), spec.tasks[1].retries),
        ("b", 3)
    );
}

#[test]
fn what_json_cannot_hold_is_reported_at_its_path() {
    let yaml = "name: !custom j\nparams: {x: .nan, [1]: 2}\ntasks: [{name: a, type: noop}]";
    assert_eq!(
        errors(yaml, SpecFormat::Yaml),
        vec![
            SpecError::at("name", "YAML tags such as !custom are not supported"),
            SpecError::at("params.x", "unsupported number .nan (not finite)"),
            SpecError::at("params", "mapping keys must be plain strings"),
        ]
    );
    let bom_json = "\u{feff}{\"name\": \"j\", \"tasks\": [{\"name\": \"a\", \"type\": \"noop\"}]}";
    assert!(parse_job_spec(bom_json, SpecFormat::Json).is_ok());
    let multi = errors("name: j\n---\nname: k\n", SpecFormat::Yaml);
    assert_eq!(multi.len(), 1);
    assert!(
        multi[0].message.contains("more than one document"),
        "{multi:?}"
    );
}
