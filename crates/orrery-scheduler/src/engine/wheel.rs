//! The timer wheel of scheduled jobs: each job armed at most once, at its next fire
//! time, popped in time order once due. An ordered set suits our fire times (exact
//! instants far apart in the future, a few per job); a hashed wheel would only pay
//! off with millions of near-term timers.

use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

/// Armed keys ordered by due time.
#[derive(Debug)]
pub struct TimerWheel<K> {
    entries: BTreeSet<(DateTime<Utc>, K)>,
    armed: HashMap<K, DateTime<Utc>>,
}

impl<K: Copy + Ord + Hash> Default for TimerWheel<K> {
    fn default() -> Self {
        Self {
            entries: BTreeSet::new(),
            armed: HashMap::new(),
        }
    }
}

impl<K: Copy + Ord + Hash> TimerWheel<K> {
    /// Arms `key` at `at`, replacing an earlier arming.
    pub fn arm(&mut self, key: K, at: DateTime<Utc>) {
        if let Some(previous) = self.armed.insert(key, at) {
            self.entries.remove(&(previous, key));
        }
        self.entries.insert((at, key));
    }

    /// Disarms `key`; nothing happens if it was not armed.
    pub fn disarm(&mut self, key: K) {
        if let Some(at) = self.armed.remove(&key) {
            self.entries.remove(&(at, key));
        }
    }

    /// When the earliest armed key is due.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.entries.first().map(|(at, _)| *at)
    }

    /// Removes and returns every key due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Vec<K> {
        let mut due = Vec::new();
        while let Some(&(at, key)) = self.entries.first() {
            if at > now {
                break;
            }
            self.entries.pop_first();
            self.armed.remove(&key);
            due.push(key);
        }
        due
    }

    /// How many keys are armed.
    pub fn len(&self) -> usize {
        self.armed.len()
    }

    /// Whether nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }
}

#[cfg(test)]
#[path = "wheel_tests.rs"]
mod tests;
