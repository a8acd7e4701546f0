//! A schedule ready to answer "when is the next fire": the trigger bound to its zone,
//! its DST policies and its start/end window.

use super::cron::parse_cron;
use super::cron_times::CronTimes;
use super::error::ScheduleError;
use super::spec::{ScheduleSpec, Trigger};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// Fire times of one schedule; pure functions of the instant asked about.
#[derive(Clone, Debug)]
pub struct CompiledSchedule {
    timing: Timing,
    tz: Tz,
    /// Inclusive.
    start: Option<DateTime<Utc>>,
    /// Exclusive.
    end: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
enum Timing {
    Cron(Box<CronTimes>),
    /// Fires at `anchor + k * period` for every whole `k`.
    Every {
        anchor: DateTime<Utc>,
        period_nanos: i128,
    },
    At(DateTime<Utc>),
}

/// Binds a schedule to its zone (`default_tz` when it names none) and checks it again,
/// since a spec may come from storage rather than from the parser.
pub fn compile(spec: &ScheduleSpec, default_tz: Tz) -> Result<CompiledSchedule, ScheduleError> {
    let tz = spec.timezone.unwrap_or(default_tz);
    if let (Some(start), Some(end)) = (spec.start, spec.end)
        && end <= start
    {
        return Err(ScheduleError::invalid(
            "schedule.end",
            format!("must be after start ({start} is not before {end})"),
        ));
    }
    let timing = match &spec.trigger {
        Trigger::Cron(text) => {
            let expr = parse_cron(text)
                .map_err(|error| ScheduleError::invalid("schedule.cron", error.to_string()))?;
            Timing::Cron(Box::new(CronTimes::new(
                expr,
                tz,
                spec.dst_gap,
                spec.dst_overlap,
            )))
        }
        Trigger::Every(period) => {
            let period_nanos = i128::try_from(period.as_std().as_nanos()).unwrap_or(i128::MAX);
            if period_nanos <= 0 {
                return Err(ScheduleError::invalid(
                    "schedule.every",
                    "must be longer than zero",
                ));
            }
            Timing::Every {
                anchor: spec.start.unwrap_or(DateTime::UNIX_EPOCH),
                period_nanos,
            }
        }
        Trigger::At(at) => Timing::At(*at),
    };
    Ok(CompiledSchedule {
        timing,
        tz,
        start: spec.start,
        end: spec.end,
    })
}

impl CompiledSchedule {
    /// The zone the schedule reads wall-clock times and calendar dates in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The date `t` falls on in the schedule's zone (what exclusion calendars match).
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The first fire strictly after `after`, inside the start/end window; `None` when
    /// the schedule is exhausted (past `end`, a one-shot `at` that has passed, a cron
    /// expression whose last year is over).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut from = after.checked_add_signed(TimeDelta::nanoseconds(1))?;
        if let Some(start) = self.start {
            from = from.max(start);
        }
        let fire = match &self.timing {
            Timing::Cron(times) => times.at_or_after(from, self.end)?,
            Timing::Every {
                anchor,
                period_nanos,
            } => {
                let elapsed = nanos_between(*anchor, from);
                let periods = ceil_div(elapsed, *period_nanos);
                add_nanos(*anchor, periods.checked_mul(*period_nanos)?)?
            }
            Timing::At(at) => Some(*at).filter(|at| *at >= from)?,
        };
        self.end.is_none_or(|end| fire < end).then_some(fire)
    }

    /// The last fire strictly before `t`, inside the start/end window: the start of a
    /// run's data interval.
    pub fn previous_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut until = t.checked_sub_signed(TimeDelta::nanoseconds(1))?;
        if let Some(end) = self.end {
            until = until.min(end.checked_sub_signed(TimeDelta::nanoseconds(1))?);
        }
        let fire = match &self.timing {
            Timing::Cron(times) => times.at_or_before(until, self.start)?,
            Timing::Every {
                anchor,
                period_nanos,
            } => {
                let elapsed = nanos_between(*anchor, until);
                let periods = elapsed.div_euclid(*period_nanos);
                add_nanos(*anchor, periods.checked_mul(*period_nanos)?)?
            }
            Timing::At(at) => Some(*at).filter(|at| *at <= until)?,
        };
        self.start.is_none_or(|start| fire >= start).then_some(fire)
    }

    /// The data interval of the fire at `fire`: from the fire before it (or `fire`
    /// itself for the first) to `fire`. Scheduled fires, backfills and manual runs
    /// all use this one rule.
    pub fn data_interval(&self, fire: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.previous_before(fire).unwrap_or(fire), fire)
    }

    /// The latest fire at or before `now` (Airflow's rule for the logical date of a
    /// manual run of a scheduled job).
    pub fn latest_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.previous_before(now.checked_add_signed(TimeDelta::nanoseconds(1))?)
    }

    /// The fires in `(after_exclusive, until_inclusive]`, oldest first, at most `limit`.
    pub fn fires_between(
        &self,
        after_exclusive: DateTime<Utc>,
        until_inclusive: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut fires = Vec::new();
        let mut cursor = after_exclusive;
        while fires.len() < limit {
            match self.next_after(cursor) {
                Some(fire) if fire <= until_inclusive => {
                    fires.push(fire);
                    cursor = fire;
                }
                _ => break,
            }
        }
        fires
    }
}

fn nanos_of(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * NANOS_PER_SECOND + i128::from(t.timestamp_subsec_nanos())
}

fn nanos_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i128 {
    nanos_of(to) - nanos_of(from)
}

fn add_nanos(t: DateTime<Utc>, nanos: i128) -> Option<DateTime<Utc>> {
    let total = nanos_of(t).checked_add(nanos)?;
    let seconds = i64::try_from(total.div_euclid(NANOS_PER_SECOND)).ok()?;
    let subsec = u32::try_from(total.rem_euclid(NANOS_PER_SECOND)).ok()?;
    DateTime::from_timestamp(seconds, subsec)
}

/// `numerator / denominator` rounded towards positive infinity (`denominator > 0`).
fn ceil_div(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator.div_euclid(denominator);
    if numerator.rem_euclid(denominator) == 0 {
        quotient
    } else {
        quotient + 1
    }
}
