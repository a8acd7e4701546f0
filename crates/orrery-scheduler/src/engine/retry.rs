//! Retry policy: whether a failed attempt gets another, and when.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// When the next attempt after failed attempt number `attempt` (1-based) is due, or
/// `None` when `retries` are used up.
pub fn next_retry_at(
    attempt: u32,
    retries: u32,
    retry_delay: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if attempt > retries {
        return None;
    }
    let delay = chrono::Duration::from_std(retry_delay).unwrap_or(chrono::Duration::MAX);
    Some(
        now.checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn retries_are_bounded() {
        let delay = Duration::from_secs(5);
        assert_eq!(next_retry_at(1, 2, delay, at(100)), Some(at(105)));
        assert_eq!(next_retry_at(2, 2, delay, at(100)), Some(at(105)));
        assert_eq!(next_retry_at(3, 2, delay, at(100)), None);
        assert_eq!(next_retry_at(1, 0, delay, at(100)), None);
    }

    #[test]
    fn zero_delay_retries_at_once() {
        assert_eq!(next_retry_at(1, 1, Duration::ZERO, at(7)), Some(at(7)));
    }
}
