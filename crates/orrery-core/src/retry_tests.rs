//! Tests of retry delays and of which outcomes are retried.

use super::*;
use crate::spec::{SpecFormat, parse_job_spec};

/// The one task of a job whose task is `fields` (YAML flow mapping entries).
fn task(fields: &str) -> TaskSpec {
    let yaml = format!("name: j\ntasks: [{{name: t, type: noop, {fields}}}]");
    let spec = parse_job_spec(&yaml, SpecFormat::Yaml).expect("valid spec");
    spec.tasks.into_iter().next().expect("one task")
}

/// Delays for attempts 1, 2, … in milliseconds.
#[track_caller]
fn check(fields: &str, jitter_unit: f64, expected_millis: &[u64]) {
    let spec = task(fields);
    let actual: Vec<u64> = (1..=expected_millis.len() as u32)
        .map(|attempt| retry_delay_for(&spec, attempt, jitter_unit).as_millis() as u64)
        .collect();
    assert_eq!(
        actual, expected_millis,
        "{fields} (jitter unit {jitter_unit})"
    );
}

#[test]
fn fixed_delays_do_not_grow() {
    check("retries: 3", 0.0, &[0, 0, 0]);
    check("retries: 3, retry_delay: 5s", 0.0, &[5000, 5000, 5000]);
    check(
        "retries: 3, retry_delay: 5s, retry_backoff: fixed",
        0.9,
        &[5000, 5000],
    );
}

#[test]
fn exponential_delays_double_up_to_the_cap() {
    check(
        "retries: 9, retry_delay: 1s, retry_backoff: exponential, retry_max_delay: 10s",
        0.0,
        &[1000, 2000, 4000, 8000, 10_000, 10_000],
    );
    // The default cap is an hour.
    let spec = task("retries: 20, retry_delay: 1m, retry_backoff: exponential");
    assert_eq!(retry_delay_for(&spec, 6, 0.0), Duration::from_secs(32 * 60));
    assert_eq!(retry_delay_for(&spec, 7, 0.0), DEFAULT_RETRY_MAX_DELAY);
    // Attempt 0 reads as 1; huge attempts saturate at the cap.
    assert_eq!(retry_delay_for(&spec, 0, 0.0), Duration::from_secs(60));
    assert_eq!(
        retry_delay_for(&spec, u32::MAX, 0.0),
        DEFAULT_RETRY_MAX_DELAY
    );
    let no_delay = task("retries: 2, retry_backoff: exponential");
    assert_eq!(retry_delay_for(&no_delay, 5, 0.0), Duration::ZERO);
}

#[test]
fn jitter_spreads_the_delay_by_twenty_percent() {
    let fields = "retries: 3, retry_delay: 10s, retry_jitter: true";
    check(fields, 0.0, &[8000, 8000]);
    check(fields, 0.5, &[10_000]);
    check(fields, 0.999_999, &[12_000]);
    // Out-of-range units are clamped; NaN is the middle.
    check(fields, -3.0, &[8000]);
    check(fields, 7.0, &[12_000]);
    check(fields, f64::NAN, &[10_000]);
    // Jitter applies after the cap.
    check(
        "retries: 5, retry_delay: 1s, retry_backoff: exponential, retry_max_delay: 3s, retry_jitter: true",
        1.0,
        &[1200, 2400, 3600, 3600],
    );
    // Without retry_jitter the unit is ignored.
    check("retries: 3, retry_delay: 10s", 0.0, &[10_000]);
}

#[test]
fn retries_follow_retry_on() {
    let all = task("retries: 1");
    for state in [TaskState::Failed, TaskState::TimedOut, TaskState::Lost] {
        assert!(retries_on(&all, state), "{state:?}");
    }
    for state in [
        TaskState::Success,
        TaskState::Skipped,
        TaskState::Cancelled,
        TaskState::UpstreamFailed,
        TaskState::Running,
    ] {
        assert!(!retries_on(&all, state), "{state:?}");
    }
    let lost_only = task("retries: 1, retry_on: [lost]");
    assert!(retries_on(&lost_only, TaskState::Lost));
    assert!(!retries_on(&lost_only, TaskState::Failed));
    assert!(!retries_on(&lost_only, TaskState::TimedOut));
}
