//! A measurement window on the wall clock, whole seconds long, and waiting for an
//! instant of it.

use chrono::{DateTime, TimeDelta, Utc};
use orrery_core::clock::{Clock, SystemClock};

/// `[start, end)`, both on a whole second.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
}

impl Window {
    /// The window of `secs` seconds that starts at the first whole second at least
    /// `delay_secs` from now.
    pub(crate) fn after(delay_secs: u32, secs: u32) -> Self {
        let earliest = now() + TimeDelta::seconds(i64::from(delay_secs));
        let start = ceil_to_second(earliest);
        Self {
            start,
            end: start + TimeDelta::seconds(i64::from(secs)),
        }
    }

    pub(crate) fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    pub(crate) fn secs(&self) -> f64 {
        (self.end - self.start).as_seconds_f64()
    }

    /// Whole seconds in the window: the fires each every-second job is due to have.
    pub(crate) fn whole_secs(&self) -> u32 {
        u32::try_from((self.end - self.start).num_seconds()).unwrap_or(0)
    }
}

/// The wall clock, read through the project's `Clock`.
pub(crate) fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// Sleeps until the wall clock reads `at` (at once if it already passed).
pub(crate) async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

fn ceil_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
    if floor == at {
        at
    } else {
        floor + TimeDelta::seconds(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().expect("a timestamp")
    }

    #[test]
    fn rounds_up_to_the_next_whole_second() {
        assert_eq!(
            ceil_to_second(t("2026-01-01T00:00:01.2Z")),
            t("2026-01-01T00:00:02Z")
        );
        assert_eq!(
            ceil_to_second(t("2026-01-01T00:00:01Z")),
            t("2026-01-01T00:00:01Z")
        );
    }
}
