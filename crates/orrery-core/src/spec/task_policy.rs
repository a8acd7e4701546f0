//! Validation of how a task runs around its command: trigger rule, condition,
//! retry policy, priority and fan-out.

use super::fields::{Problems, child, item, optional};
use super::policy::{ForEach, RetryBackoff, RetryOn, TriggerRule};
use super::task_spec::{MAX_PRIORITY, MIN_PRIORITY};
use crate::duration::HumanDuration;
use crate::template::{check_expression, expression_source, is_template};
use serde_json::{Map, Value};
use std::num::NonZeroU32;

/// The policy fields of a task, defaulted where absent (or invalid: the task is not
/// built then).
#[derive(Debug)]
pub(super) struct TaskPolicy {
    pub(super) retry_backoff: RetryBackoff,
    pub(super) retry_max_delay: Option<HumanDuration>,
    pub(super) retry_jitter: bool,
    pub(super) retry_on: Vec<RetryOn>,
    pub(super) trigger_rule: TriggerRule,
    pub(super) when: Option<String>,
    pub(super) priority: i32,
    pub(super) for_each: Option<ForEach>,
    pub(super) max_parallel: Option<NonZeroU32>,
}

/// Reads the policy fields of the task at `path`; `retry_delay` is the task's own,
/// which `retry_max_delay` may not undercut.
pub(super) fn read_policy(
    map: &Map<String, Value>,
    path: &str,
    retry_delay: Option<HumanDuration>,
    problems: &mut Problems,
) -> TaskPolicy {
    let field = |key: &str| optional(map, key).map(|value| (value, child(path, key)));

    let retry_backoff = match field("retry_backoff") {
        Some((value, field_path)) => problems.keyword(
            value,
            &field_path,
            "retry backoff",
            RetryBackoff::ALL,
            RetryBackoff::as_str,
        ),
        None => Some(RetryBackoff::Fixed),
    };
    let retry_max_delay = field("retry_max_delay").and_then(|(value, field_path)| {
        let max_delay = problems.duration(value, &field_path)?;
        if retry_backoff == Some(RetryBackoff::Fixed) {
            problems.push(
                &field_path,
                "only allowed with retry_backoff: exponential (a fixed delay does not grow)",
            );
        } else if max_delay.is_zero() {
            problems.push(&field_path, "must be longer than zero");
        } else if let Some(delay) = retry_delay.filter(|delay| max_delay < *delay) {
            problems.push(
                &field_path,
                format!("must not be shorter than retry_delay ({delay})"),
            );
        }
        Some(max_delay)
    });
    let retry_jitter = field("retry_jitter")
        .and_then(|(value, field_path)| problems.boolean(value, &field_path))
        .unwrap_or(false);
    let retry_on = match field("retry_on") {
        Some((value, field_path)) => read_retry_on(value, &field_path, problems),
        None => RetryOn::all(),
    };
    let trigger_rule = field("trigger_rule")
        .and_then(|(value, field_path)| {
            problems.keyword(
                value,
                &field_path,
                "trigger rule",
                TriggerRule::ALL,
                TriggerRule::as_str,
            )
        })
        .unwrap_or_default();
    let when =
        field("when").and_then(|(value, field_path)| read_when(value, &field_path, problems));
    let priority = field("priority")
        .and_then(|(value, field_path)| {
            problems.integer(
                value,
                &field_path,
                i64::from(MIN_PRIORITY),
                i64::from(MAX_PRIORITY),
            )
        })
        .and_then(|priority| i32::try_from(priority).ok())
        .unwrap_or(0);
    let for_each = field("for_each")
        .and_then(|(value, field_path)| read_for_each(value, &field_path, problems));
    let max_parallel = field("max_parallel").and_then(|(value, field_path)| {
        if optional(map, "for_each").is_none() {
            problems.push(
                &field_path,
                "only allowed with for_each (it limits the mapped instances running at once)",
            );
            return None;
        }
        problems
            .integer(value, &field_path, 1, i64::from(u32::MAX))
            .and_then(|count| u32::try_from(count).ok())
            .and_then(NonZeroU32::new)
    });
    TaskPolicy {
        retry_backoff: retry_backoff.unwrap_or_default(),
        retry_max_delay,
        retry_jitter,
        retry_on,
        trigger_rule,
        when,
        priority,
        for_each,
        max_parallel,
    }
}

/// A non-empty list of distinct outcomes, kept in [`RetryOn::ALL`] order.
fn read_retry_on(value: &Value, path: &str, problems: &mut Problems) -> Vec<RetryOn> {
    let Some(items) = problems.list(value, path) else {
        return Vec::new();
    };
    if items.is_empty() {
        problems.push(
            path,
            "must list at least one of failed, timed_out, lost (set retries: 0 for no retry)",
        );
    }
    let mut outcomes: Vec<(usize, RetryOn)> = Vec::with_capacity(items.len());
    for (outcome_idx, outcome) in items.iter().enumerate() {
        let outcome_path = item(path, outcome_idx);
        let Some(outcome) = problems.keyword(
            outcome,
            &outcome_path,
            "retry outcome",
            RetryOn::ALL,
            RetryOn::as_str,
        ) else {
            continue;
        };
        if let Some((first_idx, _)) = outcomes.iter().find(|(_, known)| *known == outcome) {
            problems.push(
                &outcome_path,
                format!(
                    "duplicate outcome {:?} (already listed at retry_on[{first_idx}])",
                    outcome.as_str()
                ),
            );
            continue;
        }
        outcomes.push((outcome_idx, outcome));
    }
    let mut retry_on: Vec<RetryOn> = outcomes.into_iter().map(|(_, outcome)| outcome).collect();
    retry_on.sort_unstable();
    retry_on
}

/// A condition that compiles as an expression, kept without `{{ }}` around it.
fn read_when(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(value, path)?;
    if let Err(error) = check_expression(text) {
        problems.push(path, error.to_string());
        return None;
    }
    Some(expression_source(text).to_owned())
}

/// A non-empty list of items, or a template whose syntax is sound.
fn read_for_each(value: &Value, path: &str, problems: &mut Problems) -> Option<ForEach> {
    match value {
        Value::Array(items) if items.is_empty() => {
            problems.push(path, "must list at least one item");
            None
        }
        Value::Array(items) => Some(ForEach::List(items.clone())),
        Value::String(text) if !is_template(text) => {
            problems.push(
                path,
                format!(
                    "expected a list or a template giving one (such as \
                     \"{{{{ tasks.list.outputs.files | split(',') }}}}\"), found {text:?}"
                ),
            );
            None
        }
        Value::String(text) => {
            let n_before = problems.count();
            problems.template(text, path);
            (problems.count() == n_before).then(|| ForEach::Template(text.clone()))
        }
        other => {
            problems.wrong_type(path, "a list or a template string", other);
            None
        }
    }
}
