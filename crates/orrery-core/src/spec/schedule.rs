//! Validation of a job's `schedule:` block.

use super::fields::{Problems, child, item, optional};
use super::names::{check_name, suggest};
use crate::schedule::{
    ConcurrencyPolicy, DEFAULT_MAX_ACTIVE_RUNS, DEFAULT_MAX_CATCHUP, DstGapPolicy,
    DstOverlapPolicy, MAX_MAX_CATCHUP, MisfirePolicy, PolicyName, ScheduleSpec, Trigger,
    check_cron,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use std::num::NonZeroU32;

const SCHEDULE_FIELDS: &[&str] = &[
    "cron",
    "every",
    "at",
    "timezone",
    "start",
    "end",
    "misfire",
    "max_catchup",
    "misfire_threshold",
    "dst_gap",
    "dst_overlap",
    "exclude",
    "concurrency",
    "max_active_runs",
    "paused",
];

const TRIGGER_FIELDS: [&str; 3] = ["cron", "every", "at"];

/// Most calendars one schedule may exclude.
const MAX_EXCLUDED_CALENDARS: usize = 64;

/// Reads the schedule block at `path`, recording its problems.
pub(super) fn read_schedule(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<ScheduleSpec> {
    let map = problems.mapping(value, path)?;
    let n_before = problems.count();
    problems.unknown_fields(map, path, SCHEDULE_FIELDS);

    let trigger = read_trigger(map, path, problems);
    let timezone = optional(map, "timezone")
        .and_then(|value| read_timezone(value, &child(path, "timezone"), problems));
    let start = optional(map, "start")
        .and_then(|value| read_timestamp(value, &child(path, "start"), problems));
    let end =
        optional(map, "end").and_then(|value| read_timestamp(value, &child(path, "end"), problems));
    if let (Some(start), Some(end)) = (start, end)
        && end <= start
    {
        problems.push(
            &child(path, "end"),
            format!(
                "must be after start ({} is not after {})",
                format_instant(end),
                format_instant(start)
            ),
        );
    }
    if let Some(Trigger::At(at)) = &trigger {
        let before_start = start.is_some_and(|start| *at < start);
        let at_or_after_end = end.is_some_and(|end| *at >= end);
        if before_start || at_or_after_end {
            problems.push(
                &child(path, "at"),
                format!(
                    "{} lies outside the start/end window, so the job would never fire",
                    format_instant(*at)
                ),
            );
        }
    }
    let misfire = read_policy::<MisfirePolicy>(map, path, "misfire", problems);
    let dst_gap = read_policy::<DstGapPolicy>(map, path, "dst_gap", problems);
    let dst_overlap = read_policy::<DstOverlapPolicy>(map, path, "dst_overlap", problems);
    let concurrency = read_policy::<ConcurrencyPolicy>(map, path, "concurrency", problems);
    let max_catchup = read_count(map, path, MAX_CATCHUP, problems);
    let misfire_threshold = optional(map, "misfire_threshold")
        .and_then(|value| problems.duration(value, &child(path, "misfire_threshold")));
    let max_active_runs = read_count(map, path, MAX_ACTIVE_RUNS, problems);
    let paused = match optional(map, "paused") {
        Some(Value::Bool(paused)) => Some(*paused),
        Some(other) => {
            problems.wrong_type(&child(path, "paused"), "true or false", other);
            None
        }
        None => Some(false),
    };
    let exclude = optional(map, "exclude")
        .map(|value| read_exclude(value, &child(path, "exclude"), problems))
        .unwrap_or_default();

    if problems.count() > n_before {
        return None;
    }
    Some(ScheduleSpec {
        trigger: trigger?,
        timezone,
        start,
        end,
        misfire: misfire?,
        max_catchup: max_catchup?,
        misfire_threshold,
        dst_gap: dst_gap?,
        dst_overlap: dst_overlap?,
        exclude,
        concurrency: concurrency?,
        max_active_runs: max_active_runs?,
        paused: paused?,
    })
}

/// Reads exactly one of `cron`, `every`, `at`.
fn read_trigger(map: &Map<String, Value>, path: &str, problems: &mut Problems) -> Option<Trigger> {
    let present: Vec<&str> = TRIGGER_FIELDS
        .into_iter()
        .filter(|key| optional(map, key).is_some())
        .collect();
    match present.as_slice() {
        [] => {
            problems.push(
                path,
                "one of \"cron\", \"every\" or \"at\" is required (when the job fires)",
            );
            None
        }
        [key] => {
            let field_path = child(path, key);
            let value = optional(map, key)?;
            match *key {
                "cron" => read_cron(value, &field_path, problems).map(Trigger::Cron),
                "every" => read_every(value, &field_path, problems).map(Trigger::Every),
                _ => read_timestamp(value, &field_path, problems).map(Trigger::At),
            }
        }
        [first, rest @ ..] => {
            for key in rest {
                problems.push(
                    &child(path, key),
                    format!("cannot be combined with \"{first}\": use one of cron, every, at"),
                );
            }
            None
        }
    }
}

fn read_cron(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = problems.string(value, path)?;
    match check_cron(text) {
        Ok(()) => Some(text.split_whitespace().collect::<Vec<_>>().join(" ")),
        Err(error) => {
            problems.push(path, error.to_string());
            None
        }
    }
}

fn read_every(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<crate::duration::HumanDuration> {
    let every = problems.duration(value, path)?;
    if every.is_zero() {
        problems.push(path, "must be longer than zero");
        return None;
    }
    Some(every)
}

/// Reads an RFC 3339 timestamp with its offset (`2026-12-01T08:00:00+08:00`).
fn read_timestamp(value: &Value, path: &str, problems: &mut Problems) -> Option<DateTime<Utc>> {
    let expected = "an RFC 3339 timestamp like \"2026-01-01T00:00:00Z\"";
    let Value::String(text) = value else {
        problems.wrong_type(path, expected, value);
        return None;
    };
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(instant) => Some(instant.with_timezone(&Utc)),
        Err(error) => {
            let trimmed = text.trim();
            let hint = if chrono::NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S")
                .is_ok()
            {
                " (add the offset: Z for UTC or +08:00)".to_owned()
            } else if trimmed.len() >= 4 && trimmed.bytes().take(4).all(|b| b.is_ascii_digit()) {
                // Close to a timestamp: chrono's reason ("input is out of range") helps.
                format!(" ({error})")
            } else {
                String::new()
            };
            problems.push(
                path,
                format!("invalid timestamp {text:?}: expected {expected}{hint}"),
            );
            None
        }
    }
}

/// Reads an IANA zone name, suggesting the intended one for a near miss.
fn read_timezone(value: &Value, path: &str, problems: &mut Problems) -> Option<Tz> {
    let name = problems.string(value, path)?;
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    let hint = match closest_zone(name) {
        Some(close) => format!(", did you mean {close:?}?"),
        None => " (use an IANA name such as \"Asia/Shanghai\" or \"UTC\")".to_owned(),
    };
    problems.push(path, format!("unknown time zone {name:?}{hint}"));
    None
}

/// The zone a mistyped name most likely means: the same name in another case or with
/// spaces for underscores, a name within two edits, or a zone whose last part matches.
fn closest_zone(name: &str) -> Option<&'static str> {
    let wanted = name.trim().replace(' ', "_").to_ascii_lowercase();
    let names = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    if let Some(exact) = names().find(|candidate| candidate.to_ascii_lowercase() == wanted) {
        return Some(exact);
    }
    if let Some(by_city) = names().find(|candidate| {
        candidate
            .rsplit_once('/')
            .is_some_and(|(_, city)| city.to_ascii_lowercase() == wanted)
    }) {
        return Some(by_city);
    }
    let lowered: Vec<(String, &'static str)> = names()
        .map(|candidate| (candidate.to_ascii_lowercase(), candidate))
        .collect();
    suggest(&wanted, lowered.iter().map(|(lower, _)| lower.as_str())).and_then(|close| {
        lowered
            .iter()
            .find(|(lower, _)| lower == close)
            .map(|(_, original)| *original)
    })
}

/// Reads the policy at `key` (`misfire: run_all`); absent means the default.
fn read_policy<P: PolicyName>(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    problems: &mut Problems,
) -> Option<P> {
    let Some(value) = optional(map, key) else {
        return Some(P::default());
    };
    let field_path = child(path, key);
    let text = problems.string(value, &field_path)?;
    if let Some(policy) = P::from_name(text) {
        return Some(policy);
    }
    let hint = suggest(text, P::NAMES.iter().copied())
        .map(|close| format!(", did you mean {close:?}?"))
        .unwrap_or_else(|| format!(" (expected one of: {})", P::NAMES.join(", ")));
    problems.push(&field_path, format!("unknown {key} policy {text:?}{hint}"));
    None
}

/// A count field: a whole number from 1 to `max`, `default` when absent.
struct CountField {
    key: &'static str,
    max: u32,
    default: u32,
}

const MAX_CATCHUP: CountField = CountField {
    key: "max_catchup",
    max: MAX_MAX_CATCHUP,
    default: DEFAULT_MAX_CATCHUP,
};

const MAX_ACTIVE_RUNS: CountField = CountField {
    key: "max_active_runs",
    max: u32::MAX,
    default: DEFAULT_MAX_ACTIVE_RUNS,
};

fn read_count(
    map: &Map<String, Value>,
    path: &str,
    field: CountField,
    problems: &mut Problems,
) -> Option<NonZeroU32> {
    let CountField { key, max, default } = field;
    let Some(value) = optional(map, key) else {
        return NonZeroU32::new(default);
    };
    let field_path = child(path, key);
    let expected = if max == u32::MAX {
        "a whole number of at least 1".to_owned()
    } else {
        format!("a whole number from 1 to {max}")
    };
    let Value::Number(number) = value else {
        problems.wrong_type(&field_path, &expected, value);
        return None;
    };
    match number.as_u64() {
        Some(0) => {
            problems.push(&field_path, "must be at least 1, found 0");
            None
        }
        Some(count) if count <= u64::from(max) => {
            u32::try_from(count).ok().and_then(NonZeroU32::new)
        }
        Some(_) => {
            problems.push(
                &field_path,
                format!("must be at most {max}, found {number}"),
            );
            None
        }
        None => {
            problems.push(&field_path, format!("expected {expected}, found {number}"));
            None
        }
    }
}

/// Reads the list of excluded calendar names: each a valid name, listed once.
fn read_exclude(value: &Value, path: &str, problems: &mut Problems) -> Vec<String> {
    let Some(items) = problems.list(value, path) else {
        return Vec::new();
    };
    if items.len() > MAX_EXCLUDED_CALENDARS {
        problems.push(
            path,
            format!(
                "lists {} calendars; the limit is {MAX_EXCLUDED_CALENDARS}",
                items.len()
            ),
        );
        return Vec::new();
    }
    let mut listed: Vec<(usize, String)> = Vec::with_capacity(items.len());
    for (calendar_idx, entry) in items.iter().enumerate() {
        let entry_path = item(path, calendar_idx);
        let Some(name) = problems.string(entry, &entry_path) else {
            continue;
        };
        if let Err(message) = check_name(name) {
            problems.push(&entry_path, message);
            continue;
        }
        if let Some((first_idx, _)) = listed.iter().find(|(_, known)| known == name) {
            problems.push(
                &entry_path,
                format!("calendar {name:?} is already listed at exclude[{first_idx}]"),
            );
            continue;
        }
        listed.push((calendar_idx, name.to_owned()));
    }
    listed.into_iter().map(|(_, name)| name).collect()
}

fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
