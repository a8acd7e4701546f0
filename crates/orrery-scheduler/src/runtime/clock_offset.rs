//! A node whose wall clock is off must not fire early or late: the elector measures
//! the offset between this node's clock and the database's at every lease claim, and
//! the driver reads time through [`CorrectedClock`], which adds it.

use chrono::{DateTime, Utc};
use orrery_core::clock::Clock;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Offsets smaller than this are left alone: they are measurement noise (a claim's
/// round trip), not a wrong clock.
const IGNORED_OFFSET_MICROS: i64 = 250_000;

/// The node's clock plus the last measured offset to the database's clock.
pub(crate) struct CorrectedClock {
    inner: Arc<dyn Clock>,
    offset_micros: AtomicI64,
}

impl CorrectedClock {
    pub(crate) fn new(inner: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            offset_micros: AtomicI64::new(0),
        }
    }

    /// The node's own clock, uncorrected (for measuring).
    pub(crate) fn raw_now(&self) -> DateTime<Utc> {
        self.inner.now()
    }

    /// Records one measurement: the database said `db_now` while this node's clock
    /// went from `sent` to `received`. Returns the offset now applied, in µs.
    pub(crate) fn observe(
        &self,
        sent: DateTime<Utc>,
        db_now: DateTime<Utc>,
        received: DateTime<Utc>,
    ) -> i64 {
        let midpoint = sent + (received - sent) / 2;
        let measured = (db_now - midpoint).num_microseconds().unwrap_or(0);
        let applied = if measured.abs() < IGNORED_OFFSET_MICROS {
            0
        } else {
            measured
        };
        let before = self.offset_micros.swap(applied, Ordering::Relaxed);
        if (before - applied).abs() >= IGNORED_OFFSET_MICROS {
            tracing::warn!(
                offset_ms = applied / 1000,
                "this node's clock differs from the database's; correcting fire times by the offset"
            );
        }
        applied
    }
}

impl Clock for CorrectedClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.now()
            + chrono::Duration::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_core::clock::ManualClock;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn a_clock_minutes_ahead_is_pulled_back_and_noise_is_ignored() {
        let manual = ManualClock::new(at(300));
        let clock = CorrectedClock::new(Arc::new(manual));
        // The node believes it is 300 s later than the database does.
        assert_eq!(clock.observe(at(300), at(0), at(300)), -300_000_000);
        assert_eq!(clock.now(), at(0));
        // A 100 ms difference is a round trip, not a wrong clock.
        let millis = chrono::Duration::milliseconds(100);
        assert_eq!(clock.observe(at(300), at(300) + millis, at(300)), 0);
        assert_eq!(clock.now(), at(300));
    }
}
