//! Data-driven tests of the task policy fields: trigger rules, conditions, retry
//! policy, priority and fan-out.

use crate::duration::HumanDuration;
use crate::spec::{
    ForEach, RetryBackoff, RetryOn, SpecFormat, TaskSpec, TriggerRule, parse_job_spec,
};
use serde_json::json;
use std::num::NonZeroU32;
use std::time::Duration;

/// Parses a job whose one task `t` (a noop) has the extra `fields` (YAML flow mapping
/// entries) and compares the problems (`path: message`) with `expected`.
#[track_caller]
fn check(fields: &str, expected: &[&str]) {
    let yaml = format!("name: j\ntasks: [{{name: t, type: noop, {fields}}}]");
    let actual: Vec<String> = match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\nspec:\n{yaml}");
}

/// The task parsed from `fields`, which must be valid.
#[track_caller]
fn task(fields: &str) -> TaskSpec {
    let yaml = format!("name: j\ntasks: [{{name: t, type: noop, {fields}}}]");
    match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(spec) => spec.tasks[0].clone(),
        Err(errors) => panic!("{fields}: {errors}"),
    }
}

#[test]
fn defaults_of_a_plain_task() {
    let t = task("retries: 0");
    assert_eq!(t.trigger_rule, TriggerRule::AllSuccess);
    assert_eq!(t.when, None);
    assert_eq!(t.retry_backoff, RetryBackoff::Fixed);
    assert_eq!(t.retry_max_delay, None);
    assert!(!t.retry_jitter);
    assert_eq!(
        t.retry_on,
        vec![RetryOn::Failed, RetryOn::TimedOut, RetryOn::Lost]
    );
    assert_eq!(t.priority, 0);
    assert_eq!(t.for_each, None);
    assert_eq!(t.max_parallel, None);
}

#[test]
fn trigger_rules() {
    for rule in TriggerRule::ALL {
        let t = task(&format!("trigger_rule: {}", rule.as_str()));
        assert_eq!(t.trigger_rule, *rule);
    }
    assert_eq!(
        TriggerRule::NoneFailedMinOneSuccess.as_str(),
        "none_failed_min_one_success"
    );
    check(
        "trigger_rule: all_sucess",
        &[
            r#"tasks[0].trigger_rule: unknown trigger rule "all_sucess" (one of all_success, all_done, all_failed, one_success, one_failed, none_failed, none_failed_min_one_success), did you mean "all_success"?"#,
        ],
    );
    check(
        "trigger_rule: always",
        &[
            r#"tasks[0].trigger_rule: unknown trigger rule "always" (one of all_success, all_done, all_failed, one_success, one_failed, none_failed, none_failed_min_one_success)"#,
        ],
    );
    check(
        "trigger_rule: [all_done]",
        &["tasks[0].trigger_rule: expected a string, found a list"],
    );
}

#[test]
fn conditions_compile_at_parse_time_and_lose_their_braces() {
    assert_eq!(
        task("when: '{{ tasks.extract.outputs.rows | int > 0 }}'")
            .when
            .as_deref(),
        Some("tasks.extract.outputs.rows | int > 0")
    );
    assert_eq!(
        task("when: \"params.region == 'cn'\"").when.as_deref(),
        Some("params.region == 'cn'")
    );
    check(
        "when: 'rows >'",
        &[
            "tasks[0].when: template syntax error on line 1: unexpected end of input, expected expression",
        ],
    );
    check(
        "when: '{{ a }} and {{ b }}'",
        &[
            "tasks[0].when: template syntax error: expected a single expression \
           (such as `tasks.a.outputs.n | int > 0`), not template text",
        ],
    );
    check(
        "when: '{% if a %}x{% endif %}'",
        &[
            "tasks[0].when: template syntax error: expected a single expression \
           (such as `tasks.a.outputs.n | int > 0`), not template text",
        ],
    );
    check(
        "when: '  '",
        &["tasks[0].when: template syntax error: the expression is empty"],
    );
    check(
        "when: true",
        &["tasks[0].when: expected a string, found a boolean"],
    );
}

#[test]
fn retry_policy() {
    let t = task(
        "retries: 5, retry_delay: 2s, retry_backoff: exponential, retry_max_delay: 1m, \
         retry_jitter: true, retry_on: [lost, failed]",
    );
    assert_eq!(t.retry_backoff, RetryBackoff::Exponential);
    assert_eq!(
        t.retry_max_delay,
        Some(HumanDuration(Duration::from_secs(60)))
    );
    assert!(t.retry_jitter);
    // Kept in a fixed order, whatever order the spec lists them in.
    assert_eq!(t.retry_on, vec![RetryOn::Failed, RetryOn::Lost]);

    check(
        "retry_backoff: linear, retry_jitter: 'yes', retry_on: failed",
        &[
            r#"tasks[0].retry_backoff: unknown retry backoff "linear" (one of fixed, exponential)"#,
            "tasks[0].retry_jitter: expected true or false, found a string",
            "tasks[0].retry_on: expected a list, found a string",
        ],
    );
    check(
        "retry_on: [failed, timeout, 3, failed]",
        &[
            r#"tasks[0].retry_on[1]: unknown retry outcome "timeout" (one of failed, timed_out, lost), did you mean "timed_out"?"#,
            "tasks[0].retry_on[2]: expected a string, found a number",
            r#"tasks[0].retry_on[3]: duplicate outcome "failed" (already listed at retry_on[0])"#,
        ],
    );
    check(
        "retry_on: []",
        &[
            "tasks[0].retry_on: must list at least one of failed, timed_out, lost (set retries: 0 for no retry)",
        ],
    );
    check(
        "retry_max_delay: 1m",
        &[
            "tasks[0].retry_max_delay: only allowed with retry_backoff: exponential (a fixed delay does not grow)",
        ],
    );
    check(
        "retry_backoff: fixed, retry_max_delay: 1m",
        &[
            "tasks[0].retry_max_delay: only allowed with retry_backoff: exponential (a fixed delay does not grow)",
        ],
    );
    check(
        "retry_backoff: exponential, retry_max_delay: 0s",
        &["tasks[0].retry_max_delay: must be longer than zero"],
    );
    check(
        "retry_backoff: exponential, retry_delay: 1m, retry_max_delay: 30s",
        &["tasks[0].retry_max_delay: must not be shorter than retry_delay (1m)"],
    );
    check(
        "retry_backoff: exponential, retry_max_delay: 30",
        &[r#"tasks[0].retry_max_delay: expected a duration string like "30s", found a number"#],
    );
    // A broken backoff does not also make the max delay look misplaced.
    check(
        "retry_backoff: 3, retry_max_delay: 1m",
        &["tasks[0].retry_backoff: expected a string, found a number"],
    );
}

#[test]
fn priorities() {
    assert_eq!(task("priority: -1000").priority, -1000);
    assert_eq!(task("priority: 1000").priority, 1000);
    check(
        "priority: 1001",
        &["tasks[0].priority: must be at most 1000, found 1001"],
    );
    check(
        "priority: -1001",
        &["tasks[0].priority: must be at least -1000, found -1001"],
    );
    check(
        "priority: 1.5",
        &["tasks[0].priority: expected a whole number from -1000 to 1000, found 1.5"],
    );
    check(
        "priority: high",
        &["tasks[0].priority: expected a whole number from -1000 to 1000, found a string"],
    );
    check(
        "priority: 18446744073709551615",
        &["tasks[0].priority: must be at most 1000, found 18446744073709551615"],
    );
}

#[test]
fn fan_out() {
    let t = task("for_each: [1, a, {x: 2}], max_parallel: 8");
    assert_eq!(
        t.for_each,
        Some(ForEach::List(vec![json!(1), json!("a"), json!({"x": 2})]))
    );
    assert_eq!(t.max_parallel, NonZeroU32::new(8));
    let template = "{{ tasks.list.outputs.files | split(',') }}";
    let t = task(&format!("for_each: \"{template}\""));
    assert_eq!(t.for_each, Some(ForEach::Template(template.to_owned())));
    assert_eq!(t.max_parallel, None);

    check(
        "for_each: []",
        &["tasks[0].for_each: must list at least one item"],
    );
    check(
        "for_each: 'a,b'",
        &[
            r#"tasks[0].for_each: expected a list or a template giving one (such as "{{ tasks.list.outputs.files | split(',') }}"), found "a,b""#,
        ],
    );
    check(
        "for_each: '{{ tasks.list.outputs.files | split( }}'",
        &["tasks[0].for_each: template syntax error on line 1: unexpected `}`"],
    );
    check(
        "for_each: {a: 1}",
        &["tasks[0].for_each: expected a list or a template string, found a mapping"],
    );
    check(
        "max_parallel: 4",
        &[
            "tasks[0].max_parallel: only allowed with for_each (it limits the mapped instances running at once)",
        ],
    );
    check(
        "for_each: [1], max_parallel: 0",
        &["tasks[0].max_parallel: must be at least 1, found 0"],
    );
    check(
        "for_each: [1], max_parallel: 4294967296",
        &["tasks[0].max_parallel: must be at most 4294967295, found 4294967296"],
    );
}
