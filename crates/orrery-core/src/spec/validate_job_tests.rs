//! Data-driven tests of the job-level fields: run timeout, handler tasks and typed
//! params.

use crate::duration::HumanDuration;
use crate::spec::{ParamSpec, ParamType, SpecFormat, parse_job_spec};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Parses `yaml` and compares the problems (`path: message`) with `expected`.
#[track_caller]
fn check(yaml: &str, expected: &[&str]) {
    let actual: Vec<String> = match parse_job_spec(yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\nspec:\n{yaml}");
}

/// A job `j` with the `job` fields (YAML lines) and these tasks (flow mappings).
fn job(job: &str, tasks: &[&str]) -> String {
    let tasks: Vec<String> = tasks
        .iter()
        .map(|task| format!("  - {{{task}}}\n"))
        .collect();
    format!("name: j\n{job}\ntasks:\n{}", tasks.concat())
}

#[test]
fn run_timeout() {
    let spec = parse_job_spec(
        &job("timeout: 2h", &["name: a, type: noop"]),
        SpecFormat::Yaml,
    )
    .expect("valid");
    assert_eq!(spec.timeout, Some(HumanDuration(Duration::from_secs(7200))));
    check(
        &job("timeout: 0s", &["name: a, type: noop"]),
        &["timeout: must be longer than zero (leave it out for no run timeout)"],
    );
    check(
        &job("timeout: 5", &["name: a, type: noop"]),
        &[r#"timeout: expected a duration string like "30s", found a number"#],
    );
}

#[test]
fn handlers_are_tasks_apart_from_the_graph() {
    let spec = parse_job_spec(
        &job(
            "on_failure: alert\non_success: report",
            &[
                "name: a, type: noop",
                "name: alert, type: noop",
                "name: report, type: noop",
            ],
        ),
        SpecFormat::Yaml,
    )
    .expect("valid");
    assert_eq!(spec.on_failure.as_deref(), Some("alert"));
    assert_eq!(spec.on_success.as_deref(), Some("report"));
    assert!(spec.is_handler("alert") && spec.is_handler("report") && !spec.is_handler("a"));

    check(
        &job(
            "on_failure: alrt\non_success: 3",
            &["name: alert, type: noop"],
        ),
        &[
            "on_success: expected a string, found a number",
            r#"on_failure: unknown task "alrt", did you mean "alert"?"#,
        ],
    );
    check(
        &job("on_failure: a\non_success: a", &["name: a, type: noop"]),
        &[r#"on_success: task "a" is already the on_failure handler; use a task for each outcome"#],
    );
    check(
        &job(
            "on_failure: alert\non_success: report",
            &[
                "name: a, type: noop",
                "name: alert, type: noop, depends_on: [a]",
                "name: b, type: noop, depends_on: [a, report]",
                "name: report, type: noop",
            ],
        ),
        &[
            r#"tasks[1].depends_on: task "alert" is the job's on_failure handler and cannot depend on other tasks (it runs once the run has failed)"#,
            r#"tasks[2].depends_on[1]: task "report" is the job's on_success handler; no task may depend on it"#,
        ],
    );
    // Handler problems are reported along with those of the tasks.
    check(
        &job("on_success: nope", &["name: a, type: noop, retries: x"]),
        &[
            "tasks[0].retries: expected a whole number from 0 to 100, found a string",
            r#"on_success: unknown task "nope" (known tasks: a)"#,
        ],
    );
}

#[test]
fn typed_params_are_declared_with_a_type() {
    let spec = parse_job_spec(
        "name: j
params:
  region: cn
  filter: {kind: s3}
  date: {type: string, required: true, description: Day to load}
  limit: {type: int, default: 10}
  ratio: {type: number, default: 1}
  flags: {type: object, default: {type: x}}
tasks: [{name: a, type: noop}]",
        SpecFormat::Yaml,
    )
    .expect("valid");
    assert_eq!(
        spec.params,
        BTreeMap::from([
            ("region".to_owned(), json!("cn")),
            ("filter".to_owned(), json!({"kind": "s3"})),
            ("limit".to_owned(), json!(10)),
            ("ratio".to_owned(), json!(1)),
            ("flags".to_owned(), json!({"type": "x"})),
        ])
    );
    assert_eq!(
        spec.param_types.get("date"),
        Some(&ParamSpec {
            kind: ParamType::String,
            required: true,
            default: None,
            description: Some("Day to load".into()),
        })
    );
    assert_eq!(
        spec.param_types
            .get("limit")
            .map(|param| (param.kind, param.default.clone())),
        Some((ParamType::Int, Some(json!(10))))
    );
    assert_eq!(spec.param_types.len(), 4);
    assert_eq!(ParamType::Bool.as_str(), "bool");
}

#[test]
fn typed_param_problems() {
    check(
        "name: j
params:
  a: {type: integer}
  b: {type: int, default: '10'}
  c: {type: string, required: true, default: x}
  d: {type: bool, required: 'yes', description: [x], min: 1}
  e: {type: number, default: x}
  f: {type: list, default: {}}
  g: {type: object, default: []}
  h: {type: s3, bucket: x}
  i: {type: int, default: 1.5}
  j: {type: ~}
tasks: [{name: a, type: noop}]",
        &[
            r#"params.a.type: unknown param type "integer" (one of string, int, number, bool, list, object) (a plain default that is a mapping with a "type" key is written {type: object, default: {...}})"#,
            "params.b.default: expected an int, found a string",
            r#"params.c.required: a required param cannot have a default (drop "required" or the default)"#,
            r#"params.d.min: unknown field "min" (expected one of: type, required, default, description)"#,
            "params.d.required: expected true or false, found a string",
            "params.d.description: expected a string, found a list",
            "params.e.default: expected a number, found a string",
            "params.f.default: expected a list, found a mapping",
            "params.g.default: expected an object, found a list",
            r#"params.h.bucket: unknown field "bucket" (expected one of: type, required, default, description)"#,
            r#"params.h.type: unknown param type "s3" (one of string, int, number, bool, list, object) (a plain default that is a mapping with a "type" key is written {type: object, default: {...}})"#,
            "params.i.default: expected an int, found a number",
            "params.j.type: must not be empty (one of string, int, number, bool, list, object)",
        ],
    );
}

#[test]
fn handlers_are_dag_nodes_without_edges() {
    let spec = parse_job_spec(
        &job(
            "on_failure: alert\non_success: report",
            &[
                "name: extract, type: noop",
                "name: alert, type: noop",
                "name: load, type: noop, depends_on: [extract]",
                "name: report, type: noop",
            ],
        ),
        SpecFormat::Yaml,
    )
    .expect("valid");
    let dag = crate::dag::Dag::from_spec(&spec);
    assert_eq!(dag.len(), 4);
    for handler in ["alert", "report"] {
        let idx = dag.index_of(handler).expect("a node");
        assert!(dag.upstreams(idx).is_empty() && dag.downstreams(idx).is_empty());
    }
    // Handlers are roots: the scheduler holds them back until the run has ended.
    assert_eq!(dag.roots().collect::<Vec<_>>(), vec![0, 1, 3]);
    assert_eq!(dag.topological_order(), vec![0, 1, 2, 3]);
}
