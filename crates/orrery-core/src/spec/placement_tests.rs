//! Data-driven tests of the placement fields of a task: worker selector, resources,
//! isolation, network, user, dispatch and affinity key.

use crate::spec::{
    DispatchMode, IsolationMode, JobSpec, ResourceRequest, SpecFormat, TaskSpec, WorkerSelector,
    parse_job_spec,
};
use serde_json::json;
use std::collections::BTreeMap;

/// Parses a job `j` whose one task `t` is `task` (YAML flow mapping entries after the
/// name) and compares the problems (`path: message`) with `expected`.
#[track_caller]
fn check(task: &str, expected: &[&str]) {
    let yaml = format!("name: j\ntasks: [{{name: t, {task}}}]");
    let actual: Vec<String> = match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\nspec:\n{yaml}");
}

/// The task parsed from `task`, which must be valid.
#[track_caller]
fn task(task: &str) -> TaskSpec {
    let yaml = format!("name: j\ntasks: [{{name: t, {task}}}]");
    match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(spec) => spec.tasks[0].clone(),
        Err(errors) => panic!("{task}: {errors}"),
    }
}

const PLACED: &str = r#"
name: ml
params: {tenant: acme}
tasks:
  - name: train
    type: shell
    script: python train.py
    worker: {group: gpu, labels: {zone: a, rack: "01"}}
    resources: {cpu: 2, memory: 1Gi, gpu: 1}
    isolation: sandbox
    network: true
    run_as: nobody
    affinity_key: "{{ params.tenant }}"
  - name: warm-caches
    type: command
    command: [warm]
    worker: {labels: {role: cache}}
    resources: {cpu: "500m", memory: 536870912}
    isolation: sandbox
    dispatch: broadcast
  - name: ping
    type: http
    url: "https://example.com/health"
    dispatch: broadcast
"#;

fn placed() -> JobSpec {
    parse_job_spec(PLACED, SpecFormat::Yaml).unwrap_or_else(|errors| panic!("{errors}"))
}

#[test]
fn a_full_example_reads_every_field() {
    let spec = placed();
    let train = &spec.tasks[0];
    assert_eq!(
        train.worker,
        WorkerSelector {
            group: Some("gpu".into()),
            labels: BTreeMap::from([("rack".into(), "01".into()), ("zone".into(), "a".into())]),
        }
    );
    assert_eq!(
        train.resources,
        ResourceRequest {
            cpu_millis: Some(2000),
            memory_bytes: Some(1 << 30),
            gpus: 1,
        }
    );
    assert_eq!(
        (train.isolation, train.network, train.run_as.as_deref()),
        (IsolationMode::Sandbox, true, Some("nobody"))
    );
    assert_eq!(train.dispatch, DispatchMode::Any);
    assert_eq!(train.affinity_key.as_deref(), Some("{{ params.tenant }}"));

    let warm = &spec.tasks[1];
    assert_eq!(warm.worker.group, None);
    assert_eq!(
        warm.resources,
        ResourceRequest {
            cpu_millis: Some(500),
            memory_bytes: Some(512 << 20),
            gpus: 0,
        }
    );
    // In a sandbox without `network`, the network is cut.
    assert_eq!(
        (warm.isolation, warm.network),
        (IsolationMode::Sandbox, false)
    );
    assert_eq!(warm.dispatch, DispatchMode::Broadcast);
    assert_eq!(spec.tasks[2].dispatch, DispatchMode::Broadcast);
}

#[test]
fn canonical_json_round_trips_the_placement_fields() {
    let spec = placed();
    let canonical = spec.to_canonical_json();
    assert_eq!(
        parse_job_spec(&canonical, SpecFormat::Json).map_err(|e| e.to_string()),
        Ok(spec.clone())
    );
    let back: Result<JobSpec, _> = serde_json::from_str(&canonical);
    assert_eq!(back.map_err(|e| e.to_string()), Ok(spec));
    for expected in [
        r#""affinity_key":"{{ params.tenant }}""#,
        r#""isolation":"sandbox","name":"train","network":true"#,
        r#""resources":{"cpu":"2000m","gpu":1,"memory":1073741824}"#,
        r#""run_as":"nobody""#,
        r#""worker":{"group":"gpu","labels":{"rack":"01","zone":"a"}}"#,
        r#""dispatch":"broadcast""#,
        r#""resources":{"cpu":"500m","memory":536870912}"#,
    ] {
        assert!(
            canonical.contains(expected),
            "{expected}\nnot in\n{canonical}"
        );
    }
}

#[test]
fn a_task_without_placement_fields_serializes_as_before() {
    let t = task("type: shell, script: echo");
    assert!(t.worker.is_any() && t.resources.is_empty());
    assert_eq!(
        (t.isolation, t.network, t.run_as.as_deref()),
        (IsolationMode::None, false, None)
    );
    assert_eq!(
        (t.dispatch, t.affinity_key.as_deref()),
        (DispatchMode::Any, None)
    );
    assert_eq!(
        serde_json::to_value(&t).ok(),
        Some(json!({
            "name": "t",
            "type": "shell",
            "script": "echo",
            "retries": 0,
            "retry_backoff": "fixed",
            "retry_jitter": false,
            "retry_on": ["failed", "timed_out", "lost"],
            "trigger_rule": "all_success",
            "priority": 0,
        }))
    );
    // Empty selectors and requests, and explicit defaults, are left out too.
    let explicit = task(
        "type: shell, script: echo, worker: {}, resources: {gpu: 0}, isolation: none, \
         dispatch: any",
    );
    assert_eq!(explicit, t);
    assert_eq!(
        serde_json::to_value(&explicit).ok(),
        serde_json::to_value(&t).ok()
    );
}

#[test]
fn cpu_is_cores_or_millicores() {
    for (written, millis) in [
        ("2", 2000),
        ("0.5", 500),
        ("0.001", 1),
        ("1024", 1_024_000),
        ("2.0", 2000),
        ("'500m'", 500),
        ("'2'", 2000),
        ("'0.25'", 250),
    ] {
        let t = task(&format!(
            "type: shell, script: x, resources: {{cpu: {written}}}"
        ));
        assert_eq!(t.resources.cpu_millis, Some(millis), "cpu: {written}");
    }
}

#[test]
fn resource_problems() {
    let shell = "type: shell, script: x";
    for (resources, expected) in [
        (
            "{memory: 12Qi}",
            r#"tasks[0].resources.memory: unknown unit "Qi" in "12Qi" (use Ki, Mi, Gi, Ti, Pi, Ei for powers of 1024 or k, M, G, T, P, E for powers of 1000; a plain number is bytes)"#,
        ),
        (
            "{memory: 1gb}",
            r#"tasks[0].resources.memory: unknown unit "gb" in "1gb" (use Ki, Mi, Gi, Ti, Pi, Ei for powers of 1024 or k, M, G, T, P, E for powers of 1000; a plain number is bytes), did you mean "G"?"#,
        ),
        (
            "{memory: 0}",
            "tasks[0].resources.memory: must be more than 0, found 0 (leave memory out to ask for none)",
        ),
        (
            "{memory: 0Gi}",
            r#"tasks[0].resources.memory: must be more than 0, found "0Gi" (leave memory out to ask for none)"#,
        ),
        (
            "{memory: -1}",
            "tasks[0].resources.memory: must be more than 0, found -1 (leave memory out to ask for none)",
        ),
        (
            "{memory: 1.5}",
            r#"tasks[0].resources.memory: "1.5" is not a whole number of bytes"#,
        ),
        (
            "{memory: [1Gi]}",
            r#"tasks[0].resources.memory: expected a size such as "512Mi" or "2G", or a number of bytes, found a list"#,
        ),
        (
            "{cpu: 0}",
            "tasks[0].resources.cpu: must be more than 0, found 0 (leave cpu out to ask for none)",
        ),
        (
            "{cpu: '0m'}",
            r#"tasks[0].resources.cpu: must be more than 0, found "0m" (leave cpu out to ask for none)"#,
        ),
        (
            "{cpu: -2}",
            "tasks[0].resources.cpu: must be more than 0, found -2 (leave cpu out to ask for none)",
        ),
        (
            "{cpu: '0.0001'}",
            r#"tasks[0].resources.cpu: "0.0001" is finer than one millicore (0.001 cores, "1m")"#,
        ),
        (
            "{cpu: 0.0001}",
            r#"tasks[0].resources.cpu: "0.0001" is finer than one millicore (0.001 cores, "1m")"#,
        ),
        (
            "{cpu: 1025}",
            r#"tasks[0].resources.cpu: must be at most 1024 cores ("1024000m"), found 1025"#,
        ),
        (
            "{cpu: 1e300}",
            r#"tasks[0].resources.cpu: must be at most 1024 cores ("1024000m"), found 1e+300"#,
        ),
        (
            "{cpu: '2000000m'}",
            r#"tasks[0].resources.cpu: must be at most 1024 cores ("1024000m"), found "2000000m""#,
        ),
        (
            "{cpu: 2 cores}",
            r#"tasks[0].resources.cpu: invalid CPU amount "2 cores": write cores ("2", "0.5") or millicores ("500m")"#,
        ),
        (
            "{cpu: true}",
            r#"tasks[0].resources.cpu: expected a number of cores or a string of millicores such as "500m", found a boolean"#,
        ),
        (
            "{gpu: -1}",
            "tasks[0].resources.gpu: must be at least 0, found -1",
        ),
        (
            "{gpu: 1.5}",
            "tasks[0].resources.gpu: expected a whole number from 0 to 1024, found 1.5",
        ),
        (
            "{cpu: 1, disk: 10Gi}",
            r#"tasks[0].resources.disk: unknown field "disk" (expected one of: cpu, memory, gpu)"#,
        ),
        (
            "{gpus: 1}",
            r#"tasks[0].resources.gpus: unknown field "gpus", did you mean "gpu"?"#,
        ),
        (
            "2",
            "tasks[0].resources: expected a mapping such as {cpu: 2, memory: 4Gi, gpu: 1}, found a number",
        ),
    ] {
        check(&format!("{shell}, resources: {resources}"), &[expected]);
    }
}

#[test]
fn worker_selector_problems() {
    let shell = "type: shell, script: x";
    for (worker, expected) in [
        (
            "{labels: {zone: [a]}}",
            "tasks[0].worker.labels.zone: expected a string, found a list",
        ),
        (
            "{labels: {rack: 1}}",
            r#"tasks[0].worker.labels.rack: expected a string, found a number (write "1" in quotes: labels are compared as text)"#,
        ),
        (
            "{labels: {ssd: true}}",
            r#"tasks[0].worker.labels.ssd: expected a string, found a boolean (write "true" in quotes: labels are compared as text)"#,
        ),
        (
            "{labels: {'a b': x}}",
            r#"tasks[0].worker.labels["a b"]: invalid label name "a b": it must not contain whitespace or '='"#,
        ),
        (
            "{labels: [zone]}",
            "tasks[0].worker.labels: expected a mapping, found a list",
        ),
        (
            "{group: GPU}",
            r#"tasks[0].worker.group: invalid name "GPU": use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit"#,
        ),
        (
            "{grop: gpu}",
            r#"tasks[0].worker.grop: unknown field "grop", did you mean "group"?"#,
        ),
        (
            "gpu",
            "tasks[0].worker: expected a mapping such as {group: gpu, labels: {zone: a}}, found a string",
        ),
    ] {
        check(&format!("{shell}, worker: {worker}"), &[expected]);
    }
}

#[test]
fn network_needs_a_sandbox() {
    let message = "only applies with isolation: sandbox (a task outside a sandbox always has \
                   the network)";
    for fields in [
        "network: true",
        "network: false",
        "isolation: none, network: true",
    ] {
        check(
            &format!("type: shell, script: x, {fields}"),
            &[&format!("tasks[0].network: {message}")],
        );
    }
    check(
        "type: shell, script: x, isolation: sandbox, network: yes",
        &["tasks[0].network: expected true or false, found a string"],
    );
    // A misspelt isolation is reported once, not again through network.
    check(
        "type: shell, script: x, isolation: sandbx, network: true",
        &[
            r#"tasks[0].isolation: unknown isolation "sandbx" (one of none, sandbox), did you mean "sandbox"?"#,
        ],
    );
}

#[test]
fn user_names() {
    assert_eq!(
        task("type: shell, script: x, run_as: build-bot")
            .run_as
            .as_deref(),
        Some("build-bot")
    );
    for (run_as, expected) in [
        (
            "'a b'",
            r#"tasks[0].run_as: invalid user name "a b": it must not contain whitespace or ':'"#,
        ),
        (
            "'app:app'",
            r#"tasks[0].run_as: invalid user name "app:app": it must not contain whitespace or ':'"#,
        ),
        ("''", "tasks[0].run_as: must not be empty"),
        ("1000", "tasks[0].run_as: expected a string, found a number"),
    ] {
        check(
            &format!("type: shell, script: x, run_as: {run_as}"),
            &[expected],
        );
    }
}

#[test]
fn dispatch_and_affinity() {
    check(
        "type: shell, script: 'echo {{ item }}', dispatch: broadcast, for_each: [1, 2]",
        &[
            "tasks[0].dispatch: broadcast cannot be combined with for_each: a broadcast task \
             runs once on every matching worker, a for_each task once per item; choose one",
        ],
    );
    check(
        "type: shell, script: x, dispatch: broadcast, affinity_key: '{{ params.x }}'",
        &[
            "tasks[0].affinity_key: not allowed with dispatch: broadcast (a broadcast task runs \
             on every matching worker, so there is no one worker to keep it on)",
        ],
    );
    check(
        "type: shell, script: x, dispatch: everywhere",
        &[r#"tasks[0].dispatch: unknown dispatch mode "everywhere" (one of any, broadcast)"#],
    );
    check(
        "type: shell, script: x, affinity_key: ' '",
        &["tasks[0].affinity_key: must not be empty"],
    );
    check(
        "type: shell, script: x, affinity_key: [a]",
        &["tasks[0].affinity_key: expected a string, found a list"],
    );
    let yaml = "name: j\ntasks: [{name: t, type: shell, script: x, affinity_key: '{{ params.x'}]";
    let errors = parse_job_spec(yaml, SpecFormat::Yaml)
        .err()
        .map(|errors| errors.0);
    let paths: Option<Vec<&str>> = errors
        .as_ref()
        .map(|errors| errors.iter().map(|e| e.path.as_str()).collect());
    assert_eq!(paths, Some(vec!["tasks[0].affinity_key"]), "{errors:?}");
    assert!(
        errors
            .iter()
            .flatten()
            .all(|e| e.message.starts_with("template syntax error")),
        "{errors:?}"
    );
    // Many instances of a mapped task may share a worker by key.
    let mapped = task("type: shell, script: x, for_each: [1, 2], affinity_key: '{{ item }}'");
    assert_eq!(mapped.affinity_key.as_deref(), Some("{{ item }}"));
}

#[test]
fn task_types_without_a_process() {
    let process_fields = "resources: {cpu: 1}, isolation: sandbox, network: true, run_as: me";
    check(
        &format!("type: noop, {process_fields}, dispatch: broadcast"),
        &[
            "tasks[0].resources: not allowed for a noop task (it completes without running a process)",
            "tasks[0].isolation: not allowed for a noop task (it completes without running a process)",
            "tasks[0].network: not allowed for a noop task (it completes without running a process)",
            "tasks[0].run_as: not allowed for a noop task (it completes without running a process)",
            "tasks[0].dispatch: broadcast is not allowed for a noop task (it runs nothing on the workers)",
        ],
    );
    let sub_job = "it starts a run of another job and never reaches a worker";
    check(
        "type: job, job: other, worker: {group: a}, resources: {gpu: 1}, \
         dispatch: broadcast, affinity_key: k",
        &[
            &format!("tasks[0].worker: not allowed for a job task ({sub_job})"),
            &format!("tasks[0].resources: not allowed for a job task ({sub_job})"),
            &format!("tasks[0].dispatch: broadcast is not allowed for a job task ({sub_job})"),
            &format!("tasks[0].affinity_key: not allowed for a job task ({sub_job})"),
        ],
    );
    check(
        "type: http, url: 'https://x', run_as: me",
        &[
            "tasks[0].run_as: not allowed for a http task (the worker sends its request itself, \
             without a process)",
        ],
    );
    // What only chooses a worker still applies to a noop task, which runs on one.
    let noop = task("type: noop, worker: {group: edge}, affinity_key: k, dispatch: any");
    assert_eq!(noop.worker.group.as_deref(), Some("edge"));
}

#[test]
fn every_problem_is_reported_at_once_with_its_task_index() {
    let yaml = r#"
name: j
tasks:
  - {name: a, type: noop}
  - {name: b, type: shell, script: x, resources: {cpu: 1}}
  - name: c
    type: shell
    script: x
    worker: {labels: {zone: 1}}
    resources: {cpu: 0, memory: 12Qi, gpu: 1.5, disk: 1}
    network: true
    run_as: a b
    dispatch: broadcast
    for_each: [1]
"#;
    let actual: Vec<String> = match parse_job_spec(yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(
        actual,
        [
            r#"tasks[2].worker.labels.zone: expected a string, found a number (write "1" in quotes: labels are compared as text)"#,
            r#"tasks[2].resources.disk: unknown field "disk" (expected one of: cpu, memory, gpu)"#,
            "tasks[2].resources.cpu: must be more than 0, found 0 (leave cpu out to ask for none)",
            r#"tasks[2].resources.memory: unknown unit "Qi" in "12Qi" (use Ki, Mi, Gi, Ti, Pi, Ei for powers of 1024 or k, M, G, T, P, E for powers of 1000; a plain number is bytes)"#,
            "tasks[2].resources.gpu: expected a whole number from 0 to 1024, found 1.5",
            "tasks[2].network: only applies with isolation: sandbox (a task outside a sandbox always has the network)",
            r#"tasks[2].run_as: invalid user name "a b": it must not contain whitespace or ':'"#,
            "tasks[2].dispatch: broadcast cannot be combined with for_each: a broadcast task runs once on every matching worker, a for_each task once per item; choose one",
        ]
    );
}
