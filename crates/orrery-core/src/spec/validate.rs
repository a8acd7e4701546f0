//! Validation of a whole spec document: job fields, task names, references and cycles.

use super::error::{SpecError, SpecErrors};
use super::fields::{Problems, child, item, optional};
use super::handlers::{Handler, check_handlers, check_sub_jobs};
use super::job::{DEFAULT_PROJECT, JobSpec};
use super::job_alerts::{read_alerts, read_sla};
use super::names::suggest;
use super::params_read::read_params;
use super::schedule::read_schedule;
use super::task::{TaskDraft, read_task};
use crate::dag::find_cycles;
use serde_json::Value;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

const JOB_FIELDS: &[&str] = &[
    "kind",
    "name",
    "project",
    "description",
    "params",
    "tasks",
    "schedule",
    "timeout",
    "on_failure",
    "on_success",
    "alerts",
    "sla",
];

/// Known task names listed in an "unknown task" message, at most.
const MAX_LISTED_TASKS: usize = 10;

/// Checks a parsed document and builds the spec when it has no problem at all.
pub(super) fn validate_document(document: &Value) -> Result<JobSpec, SpecErrors> {
    let mut problems = Problems::default();
    let spec = read_job(document, &mut problems);
    match spec {
        Some(spec) if problems.count() == 0 => Ok(spec),
        _ => {
            let mut errors = problems.into_vec();
            if errors.is_empty() {
                // Unreachable by construction; keeps "no spec" from ever looking valid.
                errors.push(SpecError::at("", "the spec is invalid"));
            }
            Err(SpecErrors(errors))
        }
    }
}

fn read_job(document: &Value, problems: &mut Problems) -> Option<JobSpec> {
    if document.is_null() {
        problems.push("", "the document is empty");
        return None;
    }
    let map = problems.mapping(document, "")?;
    problems.unknown_fields(map, "", JOB_FIELDS);

    if let Some(value) = optional(map, "kind")
        && let Some(kind) = problems.string(value, "kind")
        && kind != "Job"
    {
        problems.push(
            "kind",
            format!("unsupported kind {kind:?} (expected \"Job\")"),
        );
    }
    let name = problems
        .required(map, "", "name", "")
        .and_then(|value| problems.name(value, "name"));
    let project = match optional(map, "project") {
        Some(value) => problems.name(value, "project"),
        None => Some(DEFAULT_PROJECT.to_owned()),
    };
    let description = optional(map, "description")
        .and_then(|value| problems.string(value, "description"))
        .map(str::to_owned);
    let params = match optional(map, "params") {
        Some(value) => read_params(value, "params", problems),
        None => Some(Default::default()),
    };

    let schedule = match optional(map, "schedule") {
        Some(value) => read_schedule(value, "schedule", problems).map(Some),
        None => Some(None),
    };
    let timeout = optional(map, "timeout").and_then(|value| {
        let timeout = problems.duration(value, "timeout")?;
        if timeout.is_zero() {
            problems.push(
                "timeout",
                "must be longer than zero (leave it out for no run timeout)",
            );
        }
        Some(timeout)
    });
    let alerts = optional(map, "alerts").and_then(|value| read_alerts(value, problems));
    let sla = optional(map, "sla").and_then(|value| read_sla(value, problems));
    let fire_relative = sla
        .as_ref()
        .is_some_and(|sla| sla.finish_by.is_some() || sla.start_by.is_some());
    if fire_relative && schedule.as_ref().is_some_and(Option::is_none) {
        problems.push(
            "sla",
            "finish_by and start_by need a schedule: they count from the fire times",
        );
    }
    let handlers: Vec<Handler<'_>> = ["on_failure", "on_success"]
        .into_iter()
        .filter_map(|key| {
            let name = problems.string(optional(map, key)?, key)?;
            Some(Handler { key, name })
        })
        .collect();

    let tasks = problems
        .required(map, "", "tasks", "")
        .and_then(|value| problems.list(value, "tasks"))?;
    if tasks.is_empty() {
        problems.push("tasks", "at least one task is required");
        return None;
    }
    let drafts: Vec<TaskDraft> = tasks
        .iter()
        .enumerate()
        .map(|(task_idx, task)| read_task(task, &item("tasks", task_idx), problems))
        .collect();
    check_references(&drafts, problems);
    if let Some(job_name) = map.get("name").and_then(Value::as_str) {
        check_sub_jobs(job_name, &drafts, problems);
    }
    check_handlers(&handlers, &drafts, problems);

    let tasks = drafts
        .into_iter()
        .map(|draft| draft.spec)
        .collect::<Option<Vec<_>>>()?;
    let params = params?;
    let handler_named = |key: &str| {
        handlers
            .iter()
            .find(|handler| handler.key == key)
            .map(|handler| handler.name.to_owned())
    };
    Some(JobSpec {
        name: name?,
        project: project?,
        description,
        params: params.defaults,
        param_types: params.types,
        tasks,
        schedule: schedule?,
        timeout,
        on_failure: handler_named("on_failure"),
        on_success: handler_named("on_success"),
        alerts,
        sla,
    })
}

/// Checks task names are unique and `depends_on` entries resolve; looks for cycles only
/// when every reference is sound, so a cycle is never a side effect of another mistake.
fn check_references(drafts: &[TaskDraft], problems: &mut Problems) {
    let n_before = problems.count();
    let mut index_by_name: HashMap<&str, usize> = HashMap::new();
    for (task_idx, draft) in drafts.iter().enumerate() {
        let Some(name) = draft.name.as_deref() else {
            continue;
        };
        match index_by_name.entry(name) {
            Entry::Occupied(first) => problems.push(
                &child(&item("tasks", task_idx), "name"),
                format!(
                    "duplicate task name {name:?} (first used by tasks[{}])",
                    first.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(task_idx);
            }
        }
    }

    let mut edges = Vec::new();
    for (task_idx, draft) in drafts.iter().enumerate() {
        let mut position_by_name: HashMap<&str, usize> = HashMap::new();
        for (dep_idx, dependency) in &draft.depends_on {
            let path = item(&child(&item("tasks", task_idx), "depends_on"), *dep_idx);
            if draft.name.as_deref() == Some(dependency.as_str()) {
                problems.push(
                    &path,
                    format!("task {dependency:?} cannot depend on itself"),
                );
                continue;
            }
            if let Some(first_idx) = position_by_name.insert(dependency, *dep_idx) {
                position_by_name.insert(dependency, first_idx);
                problems.push(
                    &path,
                    format!("duplicate dependency {dependency:?} (already listed at depends_on[{first_idx}])"),
                );
                continue;
            }
            match index_by_name.get(dependency.as_str()) {
                Some(&upstream_idx) => edges.push((upstream_idx, task_idx)),
                None => problems.push(&path, unknown_task_message(dependency, drafts)),
            }
        }
    }

    if problems.count() > n_before {
        return;
    }
    for cycle in find_cycles(drafts.len(), &edges) {
        let Some(&first_idx) = cycle.first() else {
            continue;
        };
        let names: Vec<&str> = cycle
            .iter()
            .map(|&task_idx| drafts[task_idx].name.as_deref().unwrap_or("?"))
            .collect();
        let path = child(&item("tasks", first_idx), "depends_on");
        problems.push(&path, format!("dependency cycle: {}", names.join(" → ")));
    }
}

pub(super) fn unknown_task_message(dependency: &str, drafts: &[TaskDraft]) -> String {
    let mut known: Vec<&str> = Vec::with_capacity(drafts.len());
    for name in drafts.iter().filter_map(|draft| draft.name.as_deref()) {
        if !known.contains(&name) {
            known.push(name);
        }
    }
    if let Some(close) = suggest(dependency, known.iter().copied()) {
        return format!("unknown task {dependency:?}, did you mean {close:?}?");
    }
    let mut listed = known
        .iter()
        .take(MAX_LISTED_TASKS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if known.len() > MAX_LISTED_TASKS {
        listed.push_str(", …");
    }
    format!("unknown task {dependency:?} (known tasks: {listed})")
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "validate_policy_tests.rs"]
mod policy_tests;

#[cfg(test)]
#[path = "validate_kind_tests.rs"]
mod kind_tests;

#[cfg(test)]
#[path = "validate_job_tests.rs"]
mod job_tests;
