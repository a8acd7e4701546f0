//! Retry policy of a task: how long to wait before the next attempt and which
//! outcomes are retried. Pure: the caller supplies the randomness for jitter.

use crate::spec::{RetryBackoff, RetryOn, TaskSpec};
use crate::state::TaskState;
use std::time::Duration;

/// The cap of exponential backoff when the task sets no `retry_max_delay`.
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(3600);

/// Spread of jitter: the delay is multiplied by a factor in
/// `[1 - JITTER_SPREAD, 1 + JITTER_SPREAD)`.
const JITTER_SPREAD: f64 = 0.2;

/// The wait before retrying after attempt `attempt` (1-based: the attempt that just
/// failed) of `spec`.
///
/// - `fixed`: `retry_delay` (zero when unset) every time;
/// - `exponential`: `retry_delay × 2^(attempt − 1)`, capped by `retry_max_delay`
///   ([`DEFAULT_RETRY_MAX_DELAY`] when unset);
/// - with `retry_jitter`, the result is then multiplied by `0.8 + 0.4 × jitter_unit`,
///   so a capped delay may exceed the cap by up to 20%; `jitter_unit` is a number in
///   `[0, 1)` drawn by the caller (values outside are clamped). The result is rounded
///   to whole milliseconds, the granularity of spec durations.
///
/// Attempt 0 is read as 1. Nothing overflows: delays saturate.
pub fn retry_delay_for(spec: &TaskSpec, attempt: u32, jitter_unit: f64) -> Duration {
    let base = spec.retry_delay.map(|delay| delay.0).unwrap_or_default();
    let delay = match spec.retry_backoff {
        RetryBackoff::Fixed => base,
        RetryBackoff::Exponential => {
            let cap = spec
                .retry_max_delay
                .map_or(DEFAULT_RETRY_MAX_DELAY, |max| max.0);
            let doublings = attempt.max(1) - 1;
            2u32.checked_pow(doublings)
                .and_then(|factor| base.checked_mul(factor))
                .unwrap_or(Duration::MAX)
                .min(cap)
        }
    };
    if !spec.retry_jitter {
        return delay;
    }
    let unit = if jitter_unit.is_nan() {
        0.5
    } else {
        jitter_unit.clamp(0.0, 1.0)
    };
    let factor = 1.0 - JITTER_SPREAD + 2.0 * JITTER_SPREAD * unit;
    // Float to integer `as` saturates, which is what an enormous delay should do.
    let millis = (delay.as_millis() as f64 * factor).round() as u64;
    Duration::from_millis(millis)
}

/// Whether an attempt that ended in `state` may be retried under `spec`'s
/// `retry_on` (whether attempts remain is the caller's business). States that are
/// not a failure of the attempt itself (success, skipped, cancelled, …) never are.
pub fn retries_on(spec: &TaskSpec, state: TaskState) -> bool {
    let outcome = match state {
        TaskState::Failed => RetryOn::Failed,
        TaskState::TimedOut => RetryOn::TimedOut,
        TaskState::Lost => RetryOn::Lost,
        _ => return false,
    };
    spec.retry_on.contains(&outcome)
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
