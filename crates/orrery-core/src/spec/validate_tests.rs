//! Data-driven tests of every validation rule, each located by its field path.

use crate::spec::{SpecFormat, parse_job_spec};

/// Parses `yaml` and compares the reported problems (`path: message`, one per line)
/// with `expected`; an empty `expected` means the spec must be valid.
#[track_caller]
fn check(yaml: &str, expected: &[&str]) {
    let actual: Vec<String> = match parse_job_spec(yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\nspec:\n{yaml}");
}

/// A job named `j` with the given task list (YAML flow or block text).
fn job(tasks: &str) -> String {
    format!("name: j\ntasks:\n{tasks}")
}

#[test]
fn job_level_fields() {
    check(
        "tasks: [{name: a, type: noop}]",
        &[r#"name: missing required field "name""#],
    );
    check("name: j", &[r#"tasks: missing required field "tasks""#]);
    check(
        "name: j\ntasks: []",
        &["tasks: at least one task is required"],
    );
    check(
        "name: j\ntasks: {a: 1}",
        &["tasks: expected a list, found a mapping"],
    );
    check("- a\n- b", &["expected a mapping, found a list"]);
    check(
        "kind: CronJob\nname: j\ntasks: [{name: a, type: noop}]",
        &[r#"kind: unsupported kind "CronJob" (expected "Job")"#],
    );
    check(
        "name: 12\nproject: Team A\ndescription: [x]\nparams: [1]\ntasks: [{name: a, type: noop}]",
        &[
            "name: expected a string, found a number",
            "project: invalid name \"Team A\": use lowercase letters, digits, '.', '_' and '-', \
             starting with a letter or digit",
            "description: expected a string, found a list",
            "params: expected a mapping, found a list",
        ],
    );
    let long = "x".repeat(64);
    check(
        &format!("name: {long}\ntasks: [{{name: a, type: noop}}]"),
        &["name: name is 64 characters long; the limit is 63"],
    );
    check(
        "name: j\nnmae: x\nlabels: {}\ntasks: [{name: a, type: noop}]",
        &[
            r#"labels: unknown field "labels" (expected one of: kind, name, project, description, params, tasks, schedule, timeout, on_failure, on_success, alerts, sla)"#,
            r#"nmae: unknown field "nmae", did you mean "name"?"#,
        ],
    );
}

#[test]
fn task_names_and_types() {
    check(
        &job("  - 42"),
        &["tasks[0]: expected a mapping, found a number"],
    );
    check(
        &job("  - {type: noop}\n  - {name: B_ad, type: noop}"),
        &[
            r#"tasks[0].name: missing required field "name""#,
            "tasks[1].name: invalid name \"B_ad\": use lowercase letters, digits, '.', '_' and '-', \
             starting with a letter or digit",
        ],
    );
    check(
        &job("  - {name: a, type: noop}\n  - {name: b, type: noop}\n  - {name: a, type: noop}"),
        &[r#"tasks[2].name: duplicate task name "a" (first used by tasks[0])"#],
    );
    check(
        &job("  - {name: a}"),
        &[
            r#"tasks[0].type: missing required field "type" (one of shell, command, noop, python, http, job, branch)"#,
        ],
    );
    check(
        &job("  - {name: a, type: bash, script: x}"),
        &[
            r#"tasks[0].type: unknown task type "bash" (one of shell, command, noop, python, http, job, branch)"#,
        ],
    );
    check(
        &job("  - {name: a, type: shel, script: x}"),
        &[
            r#"tasks[0].type: unknown task type "shel" (one of shell, command, noop, python, http, job, branch), did you mean "shell"?"#,
        ],
    );
}

#[test]
fn shell_command_and_noop_fields() {
    check(
        &job("  - {name: a, type: shell}"),
        &[r#"tasks[0].script: missing required field "script" for a shell task"#],
    );
    check(
        &job("  - {name: a, type: shell, script: '  '}"),
        &["tasks[0].script: must not be empty"],
    );
    check(
        &job("  - {name: a, type: shell, script: [x]}"),
        &["tasks[0].script: expected a string, found a list"],
    );
    check(
        &job("  - {name: a, type: shell, script: x, command: [ls]}"),
        &["tasks[0].command: not allowed for a shell task"],
    );
    check(
        &job("  - {name: a, type: command}"),
        &[r#"tasks[0].command: missing required field "command" for a command task"#],
    );
    check(
        &job("  - {name: a, type: command, command: []}"),
        &["tasks[0].command: must list at least the program to run"],
    );
    check(
        &job("  - {name: a, type: command, command: ['', {x: 1}], script: x}"),
        &[
            "tasks[0].command[0]: the program must not be empty",
            "tasks[0].command[1]: expected a string, found a mapping",
            "tasks[0].script: not allowed for a command task",
        ],
    );
    check(
        &job("  - {name: a, type: command, command: ls}"),
        &["tasks[0].command: expected a list, found a string"],
    );
    check(
        &job("  - {name: a, type: noop, script: x, command: [y]}"),
        &[
            "tasks[0].script: not allowed for a noop task",
            "tasks[0].command: not allowed for a noop task",
        ],
    );
    // Numbers in an argv are taken as text.
    let spec = parse_job_spec(
        &job("  - {name: a, type: command, command: [sleep, 5]}"),
        SpecFormat::Yaml,
    );
    let command = spec.map(|spec| spec.tasks[0].kind.clone());
    assert_eq!(
        command,
        Ok(crate::spec::TaskKind::Command {
            command: vec!["sleep".into(), "5".into()]
        })
    );
}

#[test]
fn env_working_dir_timeouts_and_retries() {
    check(
        &job("  - {name: a, type: noop, env: {1X: a, OK: [b], MY-VAR: c, N: 3, B: true}}"),
        &[
            r#"tasks[0].env["1X"]: invalid environment variable name "1X": use letters, digits and '_', not starting with a digit"#,
            r#"tasks[0].env.MY-VAR: invalid environment variable name "MY-VAR": use letters, digits and '_', not starting with a digit"#,
            "tasks[0].env.OK: expected a string, found a list",
        ],
    );
    check(
        &job("  - {name: a, type: noop, env: [A]}"),
        &["tasks[0].env: expected a mapping, found a list"],
    );
    check(
        &job("  - {name: a, type: noop, working_dir: ''}"),
        &["tasks[0].working_dir: must not be empty"],
    );
    check(
        &job("  - {name: a, type: noop, timeout: 30, retry_delay: 5x}"),
        &[
            r#"tasks[0].timeout: expected a duration string like "30s", found a number"#,
            r#"tasks[0].retry_delay: invalid duration "5x": unknown unit "x" (use ms, s, m, h, d)"#,
        ],
    );
    check(
        &job("  - {name: a, type: noop, timeout: 0s, retry_delay: 0s}"),
        &["tasks[0].timeout: must be longer than zero (leave it out for no timeout)"],
    );
    check(
        &job("  - {name: a, type: noop, retries: -1}"),
        &["tasks[0].retries: must not be negative, found -1"],
    );
    check(
        &job("  - {name: a, type: noop, retries: 101}"),
        &["tasks[0].retries: must be at most 100, found 101"],
    );
    check(
        &job("  - {name: a, type: noop, retries: 1.5}"),
        &["tasks[0].retries: expected a whole number from 0 to 100, found 1.5"],
    );
    check(
        &job("  - {name: a, type: noop, retries: '3'}"),
        &["tasks[0].retries: expected a whole number from 0 to 100, found a string"],
    );
    check(
        &job("  - {name: a, type: noop, retries: 100, env: {N: 3}, timeout: 1d}"),
        &[],
    );
    check(
        &job("  - {name: a, type: noop, scirpt: x, depends: []}"),
        &[
            r#"tasks[0].depends: unknown field "depends" (expected one of: name, type, script, command, file, method, url, headers, body, expect_status, expect_json, job, params, env, working_dir, timeout, retries, retry_delay, retry_backoff, retry_max_delay, retry_jitter, retry_on, depends_on, trigger_rule, when, priority, for_each, max_parallel, worker, resources, isolation, network, run_as, dispatch, affinity_key)"#,
            r#"tasks[0].scirpt: unknown field "scirpt", did you mean "script"?"#,
        ],
    );
    // An empty YAML value counts as absent for optional fields.
    check(
        &job("  - name: a\n    type: noop\n    env:\n    depends_on:\n"),
        &[],
    );
}

#[test]
fn dependencies() {
    check(
        &job(
            "  - {name: extract, type: noop}\n  - {name: load, type: noop, depends_on: [extrat, zzz, load, extract, extract, 7]}",
        ),
        &[
            "tasks[1].depends_on[5]: expected a string, found a number",
            r#"tasks[1].depends_on[0]: unknown task "extrat", did you mean "extract"?"#,
            r#"tasks[1].depends_on[1]: unknown task "zzz" (known tasks: extract, load)"#,
            r#"tasks[1].depends_on[2]: task "load" cannot depend on itself"#,
            r#"tasks[1].depends_on[4]: duplicate dependency "extract" (already listed at depends_on[3])"#,
        ],
    );
    check(
        &job("  - {name: a, type: noop, depends_on: a}"),
        &["tasks[0].depends_on: expected a list, found a string"],
    );
    // A task with problems of its own is still a known target.
    check(
        &job("  - {name: a, type: noop, timeout: x1}\n  - {name: b, type: noop, depends_on: [a]}"),
        &[r#"tasks[0].timeout: invalid duration "x1": expected a number before "x1""#],
    );
}

#[test]
fn cycles_are_reported_in_order() {
    check(
        &job(
            "  - {name: a, type: noop, depends_on: [c]}\n  - {name: b, type: noop, depends_on: [a]}\n  \
             - {name: c, type: noop, depends_on: [b]}\n  - {name: d, type: noop, depends_on: [c]}",
        ),
        &["tasks[0].depends_on: dependency cycle: a → b → c → a"],
    );
    check(
        &job(
            "  - {name: extract, type: noop, depends_on: [load]}\n  - {name: load, type: noop, depends_on: [extract]}\n  \
             - {name: x, type: noop, depends_on: [y]}\n  - {name: y, type: noop, depends_on: [x]}",
        ),
        &[
            "tasks[0].depends_on: dependency cycle: extract → load → extract",
            "tasks[2].depends_on: dependency cycle: x → y → x",
        ],
    );
    // Cycles are only looked for once every reference resolves.
    check(
        &job(
            "  - {name: a, type: noop, depends_on: [b]}\n  - {name: b, type: noop, depends_on: [a, nope]}",
        ),
        &[r#"tasks[1].depends_on[1]: unknown task "nope" (known tasks: a, b)"#],
    );
}

#[test]
fn templates_are_checked_for_syntax_at_parse_time() {
    check(
        &job(
            "  - name: a\n    type: shell\n    script: \"ok\\n{{ params.x \"\n    env: {A: '{% if %}'}\n    working_dir: '{{ }}'\n  \
             - {name: b, type: command, command: [echo, '{{ 1 + }}', '{{ params.fine }}']}",
        ),
        &[
            "tasks[0].script: template syntax error on line 2: unexpected end of input, expected end of variable block",
            "tasks[0].env.A: template syntax error on line 1: unexpected end of block",
            "tasks[0].working_dir: template syntax error on line 1: unexpected end of variable block",
            "tasks[1].command[1]: template syntax error on line 1: unexpected end of variable block",
        ],
    );
}

#[test]
fn several_problems_in_one_document_are_all_reported() {
    let yaml = r#"
name: Etl
extra: 1
tasks:
  - name: extract
    type: shell
    script: echo hi
    timeout: 10
    retries: 500
  - name: load
    type: command
    script: echo
    depends_on: [extract, missing]
  - name: extract
    type: noop
"#;
    check(
        yaml,
        &[
            r#"extra: unknown field "extra" (expected one of: kind, name, project, description, params, tasks, schedule, timeout, on_failure, on_success, alerts, sla)"#,
            "name: invalid name \"Etl\": use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
            r#"tasks[0].timeout: expected a duration string like "30s", found a number"#,
            "tasks[0].retries: must be at most 100, found 500",
            "tasks[1].script: not allowed for a command task",
            r#"tasks[1].command: missing required field "command" for a command task"#,
            r#"tasks[2].name: duplicate task name "extract" (first used by tasks[0])"#,
            r#"tasks[1].depends_on[1]: unknown task "missing" (known tasks: extract, load)"#,
        ],
    );
}
