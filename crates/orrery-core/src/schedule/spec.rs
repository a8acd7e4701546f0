//! The `schedule:` block of a job spec: when a job fires and the policies around a fire.
//!
//! These types serialize back to the schema users write. Every policy is written out
//! with its value, defaults included, so two specs that mean the same thing give the
//! same canonical text.

use crate::duration::HumanDuration;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;

/// Default of `max_catchup`: most missed fires `misfire: run_all` replays.
pub const DEFAULT_MAX_CATCHUP: u32 = 100;
/// Largest `max_catchup` a spec may ask for.
pub const MAX_MAX_CATCHUP: u32 = 10_000;
/// Default of `max_active_runs`: most runs of the job active at once under `allow`.
pub const DEFAULT_MAX_ACTIVE_RUNS: u32 = 16;

/// When a job fires and what happens around a fire. Only built by the spec parser
/// (or deserialized from its canonical form), so the values are valid; turn it into
/// fire times with [`crate::schedule::compile`].
///
/// No `deny_unknown_fields`: serde does not support it together with the flattened
/// `trigger`. Unknown fields are rejected by the spec parser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// What the fire times are: exactly one of `cron`, `every`, `at`.
    #[serde(flatten)]
    pub trigger: Trigger,
    /// Zone a cron expression is read in (and calendar dates are taken in); `None`
    /// means the server's configured zone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_tz_name"
    )]
    pub timezone: Option<Tz>,
    /// First instant a fire may have (inclusive); also the anchor of `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// Instant from which the job no longer fires (exclusive); after `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub misfire: MisfirePolicy,
    /// Most missed fires replayed by `misfire: run_all`, 1 to 10,000.
    #[serde(default = "default_max_catchup")]
    pub max_catchup: NonZeroU32,
    /// How late a fire may be and still run as usual; later fires are misfires, handled
    /// by `misfire`. `None` means the server's `--misfire-threshold` (5s by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misfire_threshold: Option<HumanDuration>,
    #[serde(default)]
    pub dst_gap: DstGapPolicy,
    #[serde(default)]
    pub dst_overlap: DstOverlapPolicy,
    /// Names of calendars whose dates (in the schedule's zone) never fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub concurrency: ConcurrencyPolicy,
    /// Most runs of the job active at once under `concurrency: allow`.
    #[serde(default = "default_max_active_runs")]
    pub max_active_runs: NonZeroU32,
    /// A paused schedule records its fires as `paused` instead of running them.
    #[serde(default)]
    pub paused: bool,
}

impl ScheduleSpec {
    /// A schedule with this trigger and every other field at its default.
    pub fn new(trigger: Trigger) -> Self {
        ScheduleSpec {
            trigger,
            timezone: None,
            start: None,
            end: None,
            misfire: MisfirePolicy::default(),
            max_catchup: default_max_catchup(),
            misfire_threshold: None,
            dst_gap: DstGapPolicy::default(),
            dst_overlap: DstOverlapPolicy::default(),
            exclude: Vec::new(),
            concurrency: ConcurrencyPolicy::default(),
            max_active_runs: default_max_active_runs(),
            paused: false,
        }
    }
}

fn default_max_catchup() -> NonZeroU32 {
    const { NonZeroU32::new(DEFAULT_MAX_CATCHUP).expect("the default is not zero") }
}

fn default_max_active_runs() -> NonZeroU32 {
    const { NonZeroU32::new(DEFAULT_MAX_ACTIVE_RUNS).expect("the default is not zero") }
}

/// What the fire times of a schedule are; the spec's key selects the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A cron expression read in the schedule's zone, as written (whitespace
    /// collapsed): 5, 6 or 7 fields or a shorthand such as `@daily`.
    Cron(String),
    /// A fixed rate: every period of elapsed time from `start` (or the Unix epoch),
    /// whatever the wall clock does.
    Every(HumanDuration),
    /// One fire at this instant.
    At(DateTime<Utc>),
}

impl Trigger {
    /// The spec key of the variant.
    pub fn key(&self) -> &'static str {
        match self {
            Trigger::Cron(_) => "cron",
            Trigger::Every(_) => "every",
            Trigger::At(_) => "at",
        }
    }
}

use crate::keyword::keyword_enum as policy_enum;

/// A policy enum as the spec parser reads it: a keyword with a default.
pub(crate) trait PolicyName: crate::keyword::Keyword + Default {}

impl<T: crate::keyword::Keyword + Default> PolicyName for T {}

policy_enum! {
    /// What happens to fires missed while the scheduler was down or the job paused.
    MisfirePolicy {
        /// Missed fires are recorded as missed; none runs.
        Skip => "skip",
        /// One run for the latest missed fire.
        RunOnce => "run_once",
        /// Every missed fire runs, oldest first, up to `max_catchup`.
        RunAll => "run_all",
    }
    default RunOnce
}

policy_enum! {
    /// What a wall-clock time in a spring-forward gap does (see [`crate::schedule`]).
    DstGapPolicy {
        /// Fires once, at the first instant after the gap.
        Shift => "shift",
        /// Does not fire.
        Skip => "skip",
    }
    default Shift
}

policy_enum! {
    /// What a wall-clock time that occurs twice in a fall-back overlap does.
    DstOverlapPolicy {
        /// Fires at its first occurrence only.
        First => "first",
        /// Fires at its second occurrence only.
        Last => "last",
        /// Fires at both occurrences.
        Both => "both",
    }
    default First
}

policy_enum! {
    /// What a fire does while a run of the job is still active.
    ConcurrencyPolicy {
        /// Starts another run, up to `max_active_runs`.
        Allow => "allow",
        /// Skips the fire and records it as skipped.
        Forbid => "forbid",
        /// Cancels the active run and starts the new one.
        Replace => "replace",
        /// Holds the fire and starts it when the active run ends.
        Queue => "queue",
    }
    default Allow
}

/// Serializes an optional time zone as its IANA name.
mod optional_tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(
        tz: &Option<Tz>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match tz {
            Some(tz) => serializer.serialize_str(tz.name()),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Tz>, D::Error> {
        let name = Option::<String>::deserialize(deserializer)?;
        name.map(|name| {
            name.parse::<Tz>()
                .map_err(|_| de::Error::custom(format!("unknown time zone {name:?}")))
        })
        .transpose()
    }
}
