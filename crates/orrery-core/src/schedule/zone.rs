//! Offsets and offset transitions of a time zone, found by probing chrono-tz (which
//! does not expose its transition table).

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Distance between probes when looking for a transition. Two transitions closer
/// than this that return to the same offset would go unseen; no zone has had such a
/// pair in the tz database's modern history, and each probe is a binary search over a
/// few hundred spans, so a year of probing stays well under a millisecond.
const PROBE_SECONDS: i64 = 12 * 3600;

/// A change of a zone's UTC offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    /// First instant with the new offset (always a whole second).
    pub(crate) at: DateTime<Utc>,
    /// Offset before the change, in seconds east of UTC.
    pub(crate) offset_before: i64,
    /// Offset from the change on.
    pub(crate) offset_after: i64,
}

impl Transition {
    /// Whether the clock jumps forward, leaving wall-clock times that never occur.
    pub(crate) fn is_gap(&self) -> bool {
        self.offset_after > self.offset_before
    }

    /// First wall-clock time skipped by a forward jump (the reading the clock would
    /// have shown at the transition without it).
    pub(crate) fn gap_start(&self) -> NaiveDateTime {
        self.at.naive_utc() + TimeDelta::seconds(self.offset_before)
    }

    /// First wall-clock time shown after the jump.
    pub(crate) fn gap_end(&self) -> NaiveDateTime {
        self.at.naive_utc() + TimeDelta::seconds(self.offset_after)
    }
}

/// Seconds east of UTC in `tz` at the Unix second `second`.
fn offset_at_second(tz: Tz, second: i64) -> i64 {
    DateTime::from_timestamp(second, 0)
        .map(|instant| offset_at(tz, instant))
        .unwrap_or(0)
}

/// Seconds east of UTC in `tz` at `instant`.
pub(crate) fn offset_at(tz: Tz, instant: DateTime<Utc>) -> i64 {
    i64::from(
        tz.offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The wall-clock reading of `instant` in `tz`.
pub(crate) fn wall_clock(tz: Tz, instant: DateTime<Utc>) -> NaiveDateTime {
    instant.naive_utc() + TimeDelta::seconds(offset_at(tz, instant))
}

/// The transition that starts exactly at `instant`, if one does.
pub(crate) fn transition_at(tz: Tz, instant: DateTime<Utc>) -> Option<Transition> {
    if instant.timestamp_subsec_nanos() != 0 {
        return None;
    }
    let second = instant.timestamp();
    let before = offset_at_second(tz, second - 1);
    let after = offset_at_second(tz, second);
    (before != after).then_some(Transition {
        at: instant,
        offset_before: before,
        offset_after: after,
    })
}

/// The earliest transition in `(from, until]`.
pub(crate) fn first_transition_after(
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<Transition> {
    // Transitions fall on whole seconds, so `(from, until]` holds the same ones as
    // `(floor(from), until]`.
    let until = until.timestamp();
    let mut low = from.timestamp();
    let offset_from = offset_at_second(tz, low);
    while low < until {
        let high = (low + PROBE_SECONDS).min(until);
        if offset_at_second(tz, high) != offset_from {
            // offset(low) is the old offset and offset(high) is not: narrow down.
            let mut before = low;
            let mut after = high;
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if offset_at_second(tz, middle) == offset_from {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            return make_transition(tz, after);
        }
        low = high;
    }
    None
}

/// The latest transition in `(from, until]`.
pub(crate) fn last_transition_until(
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<Transition> {
    let floor = from.timestamp();
    let mut high = until.timestamp();
    let offset_until = offset_at_second(tz, high);
    while high > floor {
        let low = (high - PROBE_SECONDS).max(floor);
        if offset_at_second(tz, low) != offset_until {
            // offset(high) is the final offset and offset(low) is not: narrow down.
            let mut before = low;
            let mut after = high;
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if offset_at_second(tz, middle) == offset_until {
                    after = middle;
                } else {
                    before = middle;
                }
            }
            return make_transition(tz, after);
        }
        high = low;
    }
    None
}

fn make_transition(tz: Tz, second: i64) -> Option<Transition> {
    Some(Transition {
        at: DateTime::from_timestamp(second, 0)?,
        offset_before: offset_at_second(tz, second - 1),
        offset_after: offset_at_second(tz, second),
    })
}
