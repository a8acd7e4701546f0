//! Validation of one task of a spec, on its own (references are checked job-wide).

use super::fields::{Problems, child, item, optional};
use super::kind::read_kind;
use super::names::check_env_name;
use super::task_placement::{TaskPlacement, read_placement};
use super::task_policy::{TaskPolicy, read_policy};
use super::task_spec::TaskSpec;
use serde_json::Value;
use std::collections::BTreeMap;

const TASK_FIELDS: &[&str] = &[
    "name",
    "type",
    "script",
    "command",
    "file",
    "method",
    "url",
    "headers",
    "body",
    "expect_status",
    "expect_json",
    "job",
    "params",
    "env",
    "working_dir",
    "timeout",
    "retries",
    "retry_delay",
    "retry_backoff",
    "retry_max_delay",
    "retry_jitter",
    "retry_on",
    "depends_on",
    "trigger_rule",
    "when",
    "priority",
    "for_each",
    "max_parallel",
    "worker",
    "resources",
    "isolation",
    "network",
    "run_as",
    "dispatch",
    "affinity_key",
];

/// Most retries a task may ask for.
const MAX_RETRIES: u64 = 100;

/// What the job-wide checks need from a task, even when the task has problems.
#[derive(Debug, Default)]
pub(super) struct TaskDraft {
    /// The task's name when it is a string, valid or not, so that references to it
    /// are not reported a second time as unknown.
    pub(super) name: Option<String>,
    /// Each `depends_on` entry that is a string, with its position in the list.
    pub(super) depends_on: Vec<(usize, String)>,
    /// The job a `type: job` task starts, when it is a string.
    pub(super) sub_job: Option<String>,
    /// The finished task, present only when the task itself has no problem.
    pub(super) spec: Option<TaskSpec>,
}

/// Reads the task at `path`, recording its problems.
pub(super) fn read_task(value: &Value, path: &str, problems: &mut Problems) -> TaskDraft {
    let mut draft = TaskDraft::default();
    let Some(map) = problems.mapping(value, path) else {
        return draft;
    };
    let n_before = problems.count();
    problems.unknown_fields(map, path, TASK_FIELDS);

    let name_path = child(path, "name");
    let name = problems.required(map, path, "name", "").and_then(|value| {
        draft.name = value.as_str().map(str::to_owned);
        problems.name(value, &name_path)
    });
    let kind = read_kind(map, path, problems);
    if map.get("type").and_then(Value::as_str) == Some("job") {
        draft.sub_job = map.get("job").and_then(Value::as_str).map(str::to_owned);
    }
    let env = optional(map, "env").and_then(|value| read_env(value, &child(path, "env"), problems));
    let working_dir = optional(map, "working_dir").and_then(|value| {
        let field_path = child(path, "working_dir");
        let text = problems.string(value, &field_path)?;
        if text.is_empty() {
            problems.push(&field_path, "must not be empty");
            return None;
        }
        problems.template(text, &field_path);
        Some(text.to_owned())
    });
    let timeout = optional(map, "timeout").and_then(|value| {
        let field_path = child(path, "timeout");
        let timeout = problems.duration(value, &field_path)?;
        if timeout.is_zero() {
            problems.push(
                &field_path,
                "must be longer than zero (leave it out for no timeout)",
            );
        }
        Some(timeout)
    });
    let retries = optional(map, "retries")
        .and_then(|value| read_retries(value, &child(path, "retries"), problems));
    let retry_delay = optional(map, "retry_delay")
        .and_then(|value| problems.duration(value, &child(path, "retry_delay")));
    let policy = read_policy(map, path, retry_delay, problems);
    let placement = read_placement(map, path, problems);
    draft.depends_on = optional(map, "depends_on")
        .map(|value| read_depends_on(value, &child(path, "depends_on"), problems))
        .unwrap_or_default();

    if problems.count() > n_before {
        return draft;
    }
    if let (Some(name), Some(kind)) = (name, kind) {
        let TaskPolicy {
            retry_backoff,
            retry_max_delay,
            retry_jitter,
            retry_on,
            trigger_rule,
            when,
            priority,
            for_each,
            max_parallel,
        } = policy;
        let TaskPlacement {
            worker,
            resources,
            isolation,
            network,
            run_as,
            dispatch,
            affinity_key,
        } = placement;
        draft.spec = Some(TaskSpec {
            name,
            kind,
            env: env.unwrap_or_default(),
            working_dir,
            timeout,
            retries: retries.unwrap_or(0),
            retry_delay,
            retry_backoff,
            retry_max_delay,
            retry_jitter,
            retry_on,
            depends_on: draft
                .depends_on
                .iter()
                .map(|(_, name)| name.clone())
                .collect(),
            trigger_rule,
            when,
            priority,
            for_each,
            max_parallel,
            worker,
            resources,
            isolation,
            network,
            run_as,
            dispatch,
            affinity_key,
        });
    }
    draft
}

fn read_env(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<BTreeMap<String, String>> {
    let map = problems.mapping(value, path)?;
    let n_before = problems.count();
    let mut env = BTreeMap::new();
    for (key, value) in map {
        let var_path = child(path, key);
        if let Err(message) = check_env_name(key) {
            problems.push(&var_path, message);
        }
        // `{secret: NAME}` reads a stored secret: the template `{{ secrets.NAME }}`.
        if let Value::Object(reference) = value {
            match (reference.len(), reference.get("secret")) {
                (1, Some(Value::String(name))) => match super::secrets::check_secret_name(name) {
                    Ok(()) => {
                        env.insert(key.clone(), super::secrets::secret_template(name));
                    }
                    Err(message) => problems.push(&child(&var_path, "secret"), message),
                },
                _ => problems.push(
                    &var_path,
                    "a value is a string, or {secret: NAME} to read a stored secret".to_owned(),
                ),
            }
            continue;
        }
        if let Some(text) = problems.scalar_string(value, &var_path) {
            problems.template(&text, &var_path);
            env.insert(key.clone(), text);
        }
    }
    (problems.count() == n_before).then_some(env)
}

fn read_retries(value: &Value, path: &str, problems: &mut Problems) -> Option<u32> {
    let expected = "a whole number from 0 to 100";
    let Value::Number(number) = value else {
        problems.wrong_type(path, expected, value);
        return None;
    };
    match number.as_u64() {
        Some(retries) if retries <= MAX_RETRIES => u32::try_from(retries).ok(),
        Some(_) => {
            problems.push(
                path,
                format!("must be at most {MAX_RETRIES}, found {number}"),
            );
            None
        }
        None if number.is_i64() => {
            problems.push(path, format!("must not be negative, found {number}"));
            None
        }
        None => {
            problems.push(path, format!("expected {expected}, found {number}"));
            None
        }
    }
}

/// Reads `depends_on` as names with their positions; references are resolved job-wide.
fn read_depends_on(value: &Value, path: &str, problems: &mut Problems) -> Vec<(usize, String)> {
    let Some(items) = problems.list(value, path) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(dep_idx, dep)| {
            problems
                .string(dep, &item(path, dep_idx))
                .map(|name| (dep_idx, name.to_owned()))
        })
        .collect()
}
