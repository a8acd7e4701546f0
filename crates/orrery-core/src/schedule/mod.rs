//! Time-based schedules: the `schedule:` block of a job spec and its fire times —
//! cron in a time zone with an explicit DST policy, fixed rate, one-shot — as pure
//! functions of the instant asked about (this module never reads the clock).
//!
//! # Fire times
//!
//! * `cron` is read on the wall clock of the schedule's zone (`timezone:`, else the
//!   server's zone). Fires fall on whole seconds.
//! * `every: 30s` fires at `anchor + k × period` where the anchor is `start` (or the
//!   Unix epoch without one): exact elapsed time, blind to wall-clock jumps, so a
//!   period of `1d` is 24 real hours even across a DST change.
//! * `at` fires once.
//! * The window is half-open: a fire at `start` happens, a fire at `end` does not, so
//!   consecutive windows never share a fire.
//!
//! Calendars (`exclude:`) do not remove fire times here: the scheduler checks
//! [`CompiledSchedule::local_date`] of each fire and records an excluded one as such.
//!
//! # Daylight saving time
//!
//! A cron expression whose hour field names particular hours (`30 2 * * *`,
//! `0 9-17 * * 1-5`, `@daily`) describes wall-clock appointments, and two policies
//! say what happens to an appointment the clock skips or shows twice:
//!
//! * `dst_gap: shift` (default): a wall-clock time inside a spring-forward gap fires
//!   once, at the first instant after the gap. 02:30 on the US spring-forward day
//!   fires at 03:00 EDT; `*/15 2 * * *` fires once at 03:00 EDT, not four times; if
//!   03:00 itself matches, the two are one fire. `dst_gap: skip`: it does not fire.
//! * `dst_overlap: first` (default): a wall-clock time inside a fall-back overlap
//!   fires at its first occurrence (01:30 EDT on the US fall-back day); `last` at its
//!   second (01:30 EST); `both` at both.
//!
//! A cron expression whose hour field matches every hour (`0 * * * *`, `*/5 * * * *`,
//! `*/10 * * * * *`, `@hourly`) is periodic through the day, not an appointment: it
//! fires at every instant whose local wall-clock reading matches, and the two
//! policies do not apply to it. So `0 * * * *` fires once per real hour on both
//! transition days: the skipped 02:00 wall-clock hour is no real hour and gets no fire
//! (01:00 EST is followed by 03:00 EDT, one hour later), and the repeated 01:00 hour
//! is a real hour twice and fires twice (01:00 EDT and 01:00 EST, one hour apart).
//! With a 30-minute shift (Australia/Lord_Howe) the same rule means the `:00` of the
//! hour whose first half is skipped does not occur: `0 * * * *` fires at 01:00 and
//! then at 03:00, 90 minutes later; `*/30 * * * *` keeps its real 30-minute rhythm.
//!
//! croner, which evaluates the expressions, has a fixed built-in rule instead: an
//! expression with single second, minute and hour values shifts out of a gap and fires
//! only at the first occurrence in an overlap; anything else (`0 1,2 * * *` included)
//! skips gap times and fires at both occurrences. To honour the policies for every
//! appointment, croner is only asked about naive wall-clock times here and the mapping
//! to instants is ours (see `cron_times`).

mod compiled;
mod cron;
mod cron_times;
mod error;
mod spec;
mod zone;

pub use compiled::{CompiledSchedule, compile};
pub use cron::{CronError, CronField, MAX_YEAR, MIN_YEAR};
pub use error::ScheduleError;
pub(crate) use spec::PolicyName;
pub use spec::{
    ConcurrencyPolicy, DEFAULT_MAX_ACTIVE_RUNS, DEFAULT_MAX_CATCHUP, DstGapPolicy,
    DstOverlapPolicy, MAX_MAX_CATCHUP, MisfirePolicy, ScheduleSpec, Trigger,
};

/// Checks a cron expression the way the spec parser does; the message names the field
/// at fault (`day-of-month 32 out of range 1-31`).
pub fn check_cron(expression: &str) -> Result<(), CronError> {
    cron::parse_cron(expression).map(|_| ())
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod cron_tests;

#[cfg(test)]
#[path = "fire_tests.rs"]
mod fire_tests;

#[cfg(test)]
#[path = "dst_tests.rs"]
mod dst_tests;
