//! Validation of a task's `type:` and the fields that belong to it.

use super::fields::{Problems, child, item, optional};
use super::http::read_http;
use super::names::suggest;
use super::task_kind::TaskKind;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Fields that belong to task types, each with the types that take it, in the order
/// "not allowed" problems are reported.
const KIND_FIELDS: &[(&str, &[&str])] = &[
    ("script", &["shell", "python", "branch"]),
    ("command", &["command"]),
    ("file", &["python"]),
    ("method", &["http"]),
    ("url", &["http"]),
    ("headers", &["http"]),
    ("body", &["http"]),
    ("expect_status", &["http"]),
    ("expect_json", &["http"]),
    ("job", &["job"]),
    ("params", &["job"]),
];

/// Reads `type` with the fields that belong to it. Problems come in three groups:
/// those of the fields read, then fields the type does not take, then missing ones.
pub(super) fn read_kind(
    map: &Map<String, Value>,
    path: &str,
    problems: &mut Problems,
) -> Option<TaskKind> {
    let type_names = TaskKind::TYPE_NAMES;
    let type_hint = format!(" (one of {})", type_names.join(", "));
    let type_path = child(path, "type");
    let task_type = problems
        .required(map, path, "type", &type_hint)
        .and_then(|value| problems.string(value, &type_path))
        .and_then(|text| {
            if type_names.contains(&text) {
                return Some(text);
            }
            let hint = suggest(text, type_names.iter().copied())
                .map(|close| format!(", did you mean {close:?}?"))
                .unwrap_or_default();
            problems.push(
                &type_path,
                format!("unknown task type {text:?}{type_hint}{hint}"),
            );
            None
        })?;

    let mut missing = Problems::default();
    let fields = KindFields { map, path };
    let kind = match task_type {
        "shell" => fields
            .required_text("script", task_type, problems, &mut missing)
            .map(|script| TaskKind::Shell { script }),
        "command" => read_command_kind(&fields, problems, &mut missing),
        "python" => read_python(&fields, problems, &mut missing),
        "http" => read_http(map, path, problems, &mut missing),
        "job" => read_job_kind(&fields, problems, &mut missing),
        "branch" => fields
            .required_text("script", task_type, problems, &mut missing)
            .map(|script| TaskKind::Branch { script }),
        _ => Some(TaskKind::Noop),
    };
    for (key, task_types) in KIND_FIELDS {
        if map.contains_key(*key) && !task_types.contains(&task_type) {
            problems.push(
                &child(path, key),
                format!("not allowed for a {task_type} task"),
            );
        }
    }
    problems.append(missing);
    kind
}

/// The task's mapping with its path, for reading its fields.
pub(super) struct KindFields<'m> {
    pub(super) map: &'m Map<String, Value>,
    pub(super) path: &'m str,
}

impl KindFields<'_> {
    /// A required, non-blank, templated text field of a `task_type` task; a missing
    /// one is recorded in `missing`.
    pub(super) fn required_text(
        &self,
        key: &str,
        task_type: &str,
        problems: &mut Problems,
        missing: &mut Problems,
    ) -> Option<String> {
        let field_path = child(self.path, key);
        let Some(value) = optional(self.map, key) else {
            missing.push(
                &field_path,
                format!("missing required field {key:?} for a {task_type} task"),
            );
            return None;
        };
        template_text(value, &field_path, problems)
    }

    /// An optional, non-blank, templated text field: `Some(None)` when absent, `None`
    /// when it has a problem (recorded).
    pub(super) fn optional_text(
        &self,
        key: &str,
        problems: &mut Problems,
    ) -> Option<Option<String>> {
        match optional(self.map, key) {
            None => Some(None),
            Some(value) => template_text(value, &child(self.path, key), problems).map(Some),
        }
    }
}

/// A non-blank string whose template syntax is sound.
fn template_text(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(value, path)?;
    problems.template(text, path);
    if text.trim().is_empty() {
        problems.push(path, "must not be empty");
        return None;
    }
    Some(text.to_owned())
}

fn read_command_kind(
    fields: &KindFields<'_>,
    problems: &mut Problems,
    missing: &mut Problems,
) -> Option<TaskKind> {
    let command_path = child(fields.path, "command");
    let Some(value) = optional(fields.map, "command") else {
        missing.push(
            &command_path,
            "missing required field \"command\" for a command task",
        );
        return None;
    };
    read_command(value, &command_path, problems).map(|command| TaskKind::Command { command })
}

/// Reads an argv: a non-empty list whose first element (the program) is not empty.
fn read_command(value: &Value, path: &str, problems: &mut Problems) -> Option<Vec<String>> {
    let items = problems.list(value, path)?;
    if items.is_empty() {
        problems.push(path, "must list at least the program to run");
        return None;
    }
    let n_before = problems.count();
    let mut argv = Vec::with_capacity(items.len());
    for (arg_idx, arg) in items.iter().enumerate() {
        let arg_path = item(path, arg_idx);
        let Some(text) = problems.scalar_string(arg, &arg_path) else {
            continue;
        };
        if arg_idx == 0 && text.trim().is_empty() {
            problems.push(&arg_path, "the program must not be empty");
        }
        problems.template(&text, &arg_path);
        argv.push(text);
    }
    (problems.count() == n_before).then_some(argv)
}

/// Exactly one of `script` (inline) and `file`.
fn read_python(
    fields: &KindFields<'_>,
    problems: &mut Problems,
    missing: &mut Problems,
) -> Option<TaskKind> {
    let script = fields.optional_text("script", problems);
    let file = fields.optional_text("file", problems);
    let (Some(script), Some(file)) = (script, file) else {
        return None;
    };
    match (script, file) {
        (Some(_), Some(_)) => {
            problems.push(
                &child(fields.path, "file"),
                "cannot be combined with \"script\": a python task runs an inline script \
                 or a file, not both",
            );
            None
        }
        (None, None) => {
            missing.push(
                &child(fields.path, "script"),
                "a python task needs \"script\" (inline code) or \"file\" (a path)",
            );
            None
        }
        (script, file) => Some(TaskKind::Python { script, file }),
    }
}

/// `job:` (a job name) and the child run's `params:`. Whether it names this very job
/// is checked job-wide.
fn read_job_kind(
    fields: &KindFields<'_>,
    problems: &mut Problems,
    missing: &mut Problems,
) -> Option<TaskKind> {
    let job_path = child(fields.path, "job");
    let job = match optional(fields.map, "job") {
        Some(value) => problems.name(value, &job_path),
        None => {
            missing.push(&job_path, "missing required field \"job\" for a job task");
            None
        }
    };
    let params = match optional(fields.map, "params") {
        None => Some(BTreeMap::new()),
        Some(value) => {
            let params_path = child(fields.path, "params");
            problems.mapping(value, &params_path).map(|params| {
                params
                    .iter()
                    .map(|(key, value)| {
                        check_templates_within(value, &child(&params_path, key), problems);
                        (key.clone(), value.clone())
                    })
                    .collect()
            })
        }
    };
    Some(TaskKind::Job {
        job: job?,
        params: params?,
    })
}

/// Checks the template syntax of every string inside `value`.
fn check_templates_within(value: &Value, path: &str, problems: &mut Problems) {
    match value {
        Value::String(text) => problems.template(text, path),
        Value::Array(items) => {
            for (idx, inner) in items.iter().enumerate() {
                check_templates_within(inner, &item(path, idx), problems);
            }
        }
        Value::Object(map) => {
            for (key, inner) in map {
                check_templates_within(inner, &child(path, key), problems);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
