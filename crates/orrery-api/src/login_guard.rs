//! Slowing down password guessing: after a few failed sign-ins in a row for one
//! username, that username waits before it may try again, twice as long after each
//! further failure. Counted per username as given (known or not), so the answer tells
//! nothing about which users exist, and in the store, so every API node counts alike.

use chrono::{DateTime, Utc};

/// Failures allowed before the first wait.
const FREE_FAILURES: u32 = 5;
/// The first wait; it doubles with each failure after, up to `MAX_WAIT_SECS`.
const FIRST_WAIT_SECS: i64 = 1;
pub(crate) const MAX_WAIT_SECS: i64 = 15 * 60;

/// How long a username that failed `count` times in a row, last at `last`, must still
/// wait at `now`, if at all.
pub(crate) fn wait(
    count: u32,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<chrono::Duration> {
    let over = count.checked_sub(FREE_FAILURES)?;
    let secs = FIRST_WAIT_SECS
        .checked_shl(over.min(20))
        .unwrap_or(MAX_WAIT_SECS)
        .min(MAX_WAIT_SECS);
    let until = last + chrono::Duration::seconds(secs);
    (until > now).then(|| until - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_few_failures_are_free_then_each_one_doubles_the_wait_up_to_a_cap() {
        assert_eq!(wait(4, at(0), at(0)), None);
        assert_eq!(wait(5, at(0), at(0)), Some(chrono::Duration::seconds(1)));
        assert_eq!(wait(5, at(0), at(1)), None);
        assert_eq!(wait(6, at(0), at(0)), Some(chrono::Duration::seconds(2)));
        assert_eq!(wait(8, at(0), at(3)), Some(chrono::Duration::seconds(5)));
        assert_eq!(
            wait(200, at(0), at(0)),
            Some(chrono::Duration::seconds(MAX_WAIT_SECS))
        );
    }
}
