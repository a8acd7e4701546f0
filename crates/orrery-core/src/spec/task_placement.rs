//! Validation of where and how a task runs on workers: worker selector, resources,
//! isolation, user, dispatch and affinity.

use super::fields::{Problems, child, describe, optional};
use super::placement::{DispatchMode, IsolationMode, ResourceRequest, WorkerSelector};
use super::task_resources::read_resources;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const WORKER_FIELDS: &[&str] = &["group", "labels"];

/// The placement fields of a task, defaulted where absent (or invalid: the task is not
/// built then).
#[derive(Debug, Default)]
pub(super) struct TaskPlacement {
    pub(super) worker: WorkerSelector,
    pub(super) resources: ResourceRequest,
    pub(super) isolation: IsolationMode,
    pub(super) network: bool,
    pub(super) run_as: Option<String>,
    pub(super) dispatch: DispatchMode,
    pub(super) affinity_key: Option<String>,
}

/// What a task type cannot use, each with the reason its message gives.
#[derive(Debug, Default)]
struct TypeLimits {
    /// `resources`, `isolation`, `network` and `run_as`: they shape a process.
    no_process: Option<&'static str>,
    /// `worker` and `affinity_key`: they choose a worker.
    no_worker: Option<&'static str>,
    /// `dispatch: broadcast`.
    no_broadcast: Option<&'static str>,
}

impl TypeLimits {
    /// The limits of `task_type`; none for a process type or an unknown type (which
    /// is reported on its own).
    fn of(task_type: &str) -> TypeLimits {
        const SUB_JOB: &str = "it starts a run of another job and never reaches a worker";
        match task_type {
            "noop" => TypeLimits {
                no_process: Some("it completes without running a process"),
                no_worker: None,
                no_broadcast: Some("it runs nothing on the workers"),
            },
            "http" => TypeLimits {
                no_process: Some("the worker sends its request itself, without a process"),
                ..TypeLimits::default()
            },
            "job" => TypeLimits {
                no_process: Some(SUB_JOB),
                no_worker: Some(SUB_JOB),
                no_broadcast: Some(SUB_JOB),
            },
            _ => TypeLimits::default(),
        }
    }
}

/// Reads the placement fields of the task at `path`.
pub(super) fn read_placement(
    map: &Map<String, Value>,
    path: &str,
    problems: &mut Problems,
) -> TaskPlacement {
    let field = |key: &str| optional(map, key).map(|value| (value, child(path, key)));
    let task_type = map.get("type").and_then(Value::as_str).unwrap_or_default();
    let limits = TypeLimits::of(task_type);
    let not_allowed = |field_path: &str, reason: &str, problems: &mut Problems| {
        problems.push(
            field_path,
            format!("not allowed for a {task_type} task ({reason})"),
        );
    };

    let worker = field("worker").and_then(|(value, field_path)| match limits.no_worker {
        Some(reason) => {
            not_allowed(&field_path, reason, problems);
            None
        }
        None => read_worker(value, &field_path, problems),
    });
    let resources = field("resources").and_then(|(value, field_path)| match limits.no_process {
        Some(reason) => {
            not_allowed(&field_path, reason, problems);
            None
        }
        None => read_resources(value, &field_path, problems),
    });
    let isolation = match (field("isolation"), limits.no_process) {
        (None, _) => Some(IsolationMode::None),
        (Some((_, field_path)), Some(reason)) => {
            not_allowed(&field_path, reason, problems);
            None
        }
        (Some((value, field_path)), None) => problems.keyword(
            value,
            &field_path,
            "isolation",
            IsolationMode::ALL,
            IsolationMode::as_str,
        ),
    };
    let network = field("network").and_then(|(value, field_path)| {
        if let Some(reason) = limits.no_process {
            not_allowed(&field_path, reason, problems);
            return None;
        }
        let network = problems.boolean(value, &field_path)?;
        // `network: false` without a sandbox is refused too: it would read as if it cut
        // the network, which only a sandbox does.
        if isolation == Some(IsolationMode::None) {
            problems.push(
                &field_path,
                "only applies with isolation: sandbox (a task outside a sandbox always \
                 has the network)",
            );
            return None;
        }
        Some(network)
    });
    let run_as = field("run_as").and_then(|(value, field_path)| {
        if let Some(reason) = limits.no_process {
            not_allowed(&field_path, reason, problems);
            return None;
        }
        read_user(value, &field_path, problems)
    });
    let dispatch = field("dispatch").and_then(|(value, field_path)| {
        let dispatch = problems.keyword(
            value,
            &field_path,
            "dispatch mode",
            DispatchMode::ALL,
            DispatchMode::as_str,
        )?;
        if dispatch != DispatchMode::Broadcast {
            return Some(dispatch);
        }
        if let Some(reason) = limits.no_broadcast {
            problems.push(
                &field_path,
                format!("broadcast is not allowed for a {task_type} task ({reason})"),
            );
            return None;
        }
        if optional(map, "for_each").is_some() {
            problems.push(
                &field_path,
                "broadcast cannot be combined with for_each: a broadcast task runs once on \
                 every matching worker, a for_each task once per item; choose one",
            );
            return None;
        }
        Some(dispatch)
    });
    let affinity_key = field("affinity_key").and_then(|(value, field_path)| {
        if let Some(reason) = limits.no_worker {
            not_allowed(&field_path, reason, problems);
            return None;
        }
        let key = read_affinity_key(value, &field_path, problems)?;
        if dispatch == Some(DispatchMode::Broadcast) {
            problems.push(
                &field_path,
                "not allowed with dispatch: broadcast (a broadcast task runs on every \
                 matching worker, so there is no one worker to keep it on)",
            );
            return None;
        }
        Some(key)
    });
    TaskPlacement {
        worker: worker.unwrap_or_default(),
        resources: resources.unwrap_or_default(),
        isolation: isolation.unwrap_or_default(),
        network: network.unwrap_or(false),
        run_as,
        dispatch: dispatch.unwrap_or_default(),
        affinity_key,
    }
}

fn read_worker(value: &Value, path: &str, problems: &mut Problems) -> Option<WorkerSelector> {
    let Value::Object(map) = value else {
        problems.wrong_type(
            path,
            "a mapping such as {group: gpu, labels: {zone: a}}",
            value,
        );
        return None;
    };
    problems.unknown_fields(map, path, WORKER_FIELDS);
    let group =
        optional(map, "group").and_then(|value| problems.name(value, &child(path, "group")));
    let labels = optional(map, "labels")
        .and_then(|value| read_labels(value, &child(path, "labels"), problems))
        .unwrap_or_default();
    Some(WorkerSelector { group, labels })
}

/// A mapping of label names to string values. Numbers and booleans are refused rather
/// than turned into text: YAML reads `rack: 01` as 1 and `ssd: yes` as a boolean in
/// some versions, and a label that silently changed would match no worker.
fn read_labels(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<BTreeMap<String, String>> {
    let map = problems.mapping(value, path)?;
    let mut labels = BTreeMap::new();
    for (key, value) in map {
        let label_path = child(path, key);
        if key.is_empty() {
            problems.push(&label_path, "label names must not be empty");
        } else if key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '=')
        {
            problems.push(
                &label_path,
                format!("invalid label name {key:?}: it must not contain whitespace or '='"),
            );
        }
        match value {
            Value::String(text) => {
                labels.insert(key.clone(), text.clone());
            }
            Value::Number(_) | Value::Bool(_) => problems.push(
                &label_path,
                format!(
                    "expected a string, found {} (write \"{value}\" in quotes: labels are \
                     compared as text)",
                    describe(value)
                ),
            ),
            other => problems.wrong_type(&label_path, "a string", other),
        }
    }
    Some(labels)
}

/// A user name: not empty, without whitespace or ':' (which would read as user:group).
fn read_user(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(value, path)?;
    if text.is_empty() {
        problems.push(path, "must not be empty");
        return None;
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        problems.push(
            path,
            format!("invalid user name {text:?}: it must not contain whitespace or ':'"),
        );
        return None;
    }
    Some(text.to_owned())
}

/// A non-blank string whose template syntax is sound (it is rendered per run).
fn read_affinity_key(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(value, path)?;
    if text.trim().is_empty() {
        problems.push(path, "must not be empty");
        return None;
    }
    let n_before = problems.count();
    problems.template(text, path);
    (problems.count() == n_before).then(|| text.to_owned())
}

#[cfg(test)]
#[path = "placement_tests.rs"]
mod tests;
