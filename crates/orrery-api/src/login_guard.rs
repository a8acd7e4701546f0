//! Slowing down password guessing: after a few failed sign-ins for one username, that
//! username waits before it may try again, longer after each further failure. Kept
//! per username as given (known or not), so the answer tells nothing about which
//! users exist; in memory on each API node, which bounds guessing per node.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Failures allowed before the first wait.
const FREE_FAILURES: u32 = 5;
/// The first wait; it doubles with each failure after, up to `MAX_WAIT_SECS`.
const FIRST_WAIT_SECS: i64 = 1;
const MAX_WAIT_SECS: i64 = 15 * 60;
/// Usernames remembered at most; the oldest entry is forgotten beyond this, so a
/// flood of made-up names cannot grow memory without bound.
const MAX_TRACKED: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

/// Failed sign-ins per username.
#[derive(Debug, Default)]
pub struct LoginGuard {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginGuard {
    /// How long `username` must still wait before it may try, if at all.
    pub(crate) fn wait(&self, username: &str, now: DateTime<Utc>) -> Option<chrono::Duration> {
        let failures = self.failures.lock().ok()?;
        let entry = failures.get(username)?;
        let until = entry.last + wait_after(entry.count)?;
        (until > now).then(|| until - now)
    }

    pub(crate) fn failed(&self, username: &str, now: DateTime<Utc>) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_TRACKED && !failures.contains_key(username) {
            let oldest = failures
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(username.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    pub(crate) fn succeeded(&self, username: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(username);
        }
    }
}

/// The wait after `count` failures in a row.
fn wait_after(count: u32) -> Option<chrono::Duration> {
    let over = count.checked_sub(FREE_FAILURES)?;
    let secs = FIRST_WAIT_SECS
        .checked_shl(over.min(20))
        .unwrap_or(MAX_WAIT_SECS)
        .min(MAX_WAIT_SECS);
    Some(chrono::Duration::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_few_failures_are_free_then_each_one_doubles_the_wait() {
        let guard = LoginGuard::default();
        for k in 0..5 {
            assert_eq!(guard.wait("ann", at(k)), None);
            guard.failed("ann", at(k));
        }
        // The fifth failure at 4 s: wait 1 s.
        assert_eq!(guard.wait("ann", at(4)), Some(chrono::Duration::seconds(1)));
        assert_eq!(guard.wait("ann", at(5)), None);
        guard.failed("ann", at(5));
        assert_eq!(guard.wait("ann", at(5)), Some(chrono::Duration::seconds(2)));
        // Others are not affected; a success forgets.
        assert_eq!(guard.wait("bob", at(5)), None);
        guard.succeeded("ann");
        assert_eq!(guard.wait("ann", at(5)), None);
    }

    #[test]
    fn the_wait_is_capped_and_memory_is_bounded() {
        let guard = LoginGuard::default();
        for k in 0..100 {
            guard.failed("ann", at(0));
            let _ = k;
        }
        assert_eq!(
            guard.wait("ann", at(0)),
            Some(chrono::Duration::seconds(MAX_WAIT_SECS))
        );
        for k in 0..(MAX_TRACKED + 10) {
            guard.failed(&format!("user{k}"), at(1));
        }
        let tracked = guard.failures.lock().map(|f| f.len()).unwrap_or(0);
        assert!(tracked <= MAX_TRACKED, "{tracked}");
    }
}
