//! Fire times of a cron expression in a time zone, with the DST policies applied.
//!
//! croner evaluates the expression on naive wall-clock times only; this module maps
//! them to instants segment by segment, a segment being a stretch of constant UTC
//! offset. Inside a segment wall clock and instants correspond one to one, so croner's
//! answer converts directly; at each offset transition the search restarts on the
//! other side, which gives the real-clock reading of the expression (gap times never
//! occur, overlap times occur twice). The policies then adjust that reading for
//! expressions that name particular hours: `shift` adds a fire at the end of a gap
//! whose skipped wall-clock times the expression matches, `first`/`last` drop the
//! second or first occurrence of a repeated time.

use super::cron::CronExpr;
use super::spec::{DstGapPolicy, DstOverlapPolicy};
use super::zone::{
    first_transition_after, last_transition_until, offset_at, transition_at, wall_clock,
};
use chrono::{DateTime, LocalResult, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// A cron expression bound to a zone and the policies that apply to it.
#[derive(Clone, Debug)]
pub(crate) struct CronTimes {
    expr: CronExpr,
    tz: Tz,
    gap: DstGapPolicy,
    overlap: DstOverlapPolicy,
}

impl CronTimes {
    /// Binds `expr` to `tz`. An expression matching every hour fires by the real clock
    /// (gap times skipped, overlap times at both occurrences), whatever the policies.
    pub(crate) fn new(
        expr: CronExpr,
        tz: Tz,
        gap: DstGapPolicy,
        overlap: DstOverlapPolicy,
    ) -> Self {
        let (gap, overlap) = if expr.matches_every_hour() {
            (DstGapPolicy::Skip, DstOverlapPolicy::Both)
        } else {
            (gap, overlap)
        };
        CronTimes {
            expr,
            tz,
            gap,
            overlap,
        }
    }

    /// The first fire at or after `from`; `None` when there is none before `limit`
    /// (exclusive) or none at all.
    pub(crate) fn at_or_after(
        &self,
        from: DateTime<Utc>,
        limit: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let mut from = from;
        loop {
            if limit.is_some_and(|limit| from >= limit) {
                return None;
            }
            // Fires fall on whole seconds: from a fraction, the search starts at the
            // next second (croner's exclusive search); from a whole second, there.
            let inclusive = from.timestamp_subsec_nanos() == 0;
            if inclusive && self.shifts_into(from) {
                return Some(from);
            }
            let offset = offset_at(self.tz, from);
            let wall_from = from.naive_utc() + TimeDelta::seconds(offset);
            let wall = self
                .expr
                .cron()
                .find_next_occurrence(&wall_from, inclusive)
                .ok()?;
            let candidate = (wall - TimeDelta::seconds(offset)).and_utc();
            let horizon = limit.map_or(candidate, |limit| limit.min(candidate));
            if let Some(transition) = first_transition_after(self.tz, from, horizon) {
                // The offset changes before the candidate: search again from there.
                from = transition.at;
                continue;
            }
            if limit.is_some_and(|limit| candidate >= limit) {
                return None;
            }
            if self.suppressed(candidate) {
                from = candidate + TimeDelta::seconds(1);
                continue;
            }
            return Some(candidate);
        }
    }

    /// The last fire at or before `until`; `None` when there is none at or after
    /// `floor` or none at all.
    pub(crate) fn at_or_before(
        &self,
        until: DateTime<Utc>,
        floor: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        let mut until = until - TimeDelta::nanoseconds(i64::from(until.timestamp_subsec_nanos()));
        loop {
            if floor.is_some_and(|floor| until < floor) {
                return None;
            }
            let offset = offset_at(self.tz, until);
            let wall_until = until.naive_utc() + TimeDelta::seconds(offset);
            let wall = self
                .expr
                .cron()
                .find_previous_occurrence(&wall_until, true)
                .ok()?;
            let candidate = (wall - TimeDelta::seconds(offset)).and_utc();
            let horizon = floor.map_or(candidate, |floor| {
                candidate.max(floor - TimeDelta::seconds(1))
            });
            if let Some(transition) = last_transition_until(self.tz, horizon, until) {
                // Nothing matches in this segment after the transition but the
                // transition itself may take a shifted fire.
                if self.shifts_into(transition.at) {
                    return Some(transition.at);
                }
                until = transition.at - TimeDelta::seconds(1);
                continue;
            }
            if floor.is_some_and(|floor| candidate < floor) {
                return None;
            }
            if self.suppressed(candidate) {
                until = candidate - TimeDelta::seconds(1);
                continue;
            }
            return Some(candidate);
        }
    }

    /// Whether `instant` starts a forward jump whose skipped wall-clock times the
    /// expression matches, and `shift` moves them here.
    fn shifts_into(&self, instant: DateTime<Utc>) -> bool {
        if self.gap != DstGapPolicy::Shift {
            return false;
        }
        let Some(transition) = transition_at(self.tz, instant) else {
            return false;
        };
        if !transition.is_gap() {
            return false;
        }
        self.expr
            .cron()
            .find_next_occurrence(&transition.gap_start(), true)
            .is_ok_and(|wall| wall < transition.gap_end())
    }

    /// Whether the overlap policy drops the fire at `instant`, one of two instants
    /// showing the same wall-clock time.
    fn suppressed(&self, instant: DateTime<Utc>) -> bool {
        if self.overlap == DstOverlapPolicy::Both {
            return false;
        }
        let wall = wall_clock(self.tz, instant);
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Ambiguous(earlier, later) => match self.overlap {
                DstOverlapPolicy::First => instant == later.with_timezone(&Utc),
                DstOverlapPolicy::Last => instant == earlier.with_timezone(&Utc),
                DstOverlapPolicy::Both => false,
            },
            _ => false,
        }
    }
}
