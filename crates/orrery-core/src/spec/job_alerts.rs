//! A job's alerting settings: `alerts:` (severity and extra labels of its alerts, and
//! whether retries alert) and `sla:` (deadlines that raise `SlaMissed`).

use super::fields::{Problems, child, optional};
use crate::duration::HumanDuration;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

const ALERTS_FIELDS: &[&str] = &["severity", "labels", "retrying"];
const SLA_FIELDS: &[&str] = &["max_duration", "finish_by", "start_by"];
const SEVERITIES: &[&str] = &["info", "warning", "critical"];
/// Labels the scheduler sets itself; a job may not override them.
const RESERVED_LABELS: &[&str] = &["alertname", "project", "job", "task", "worker", "severity"];
const MAX_LABELS: usize = 16;

/// `alerts:` of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobAlerts {
    /// Overrides the default severity of every alert of the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Added to every alert of the job (`team: payments`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Raise `TaskRetrying` when an attempt fails and is retried (off by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retrying: bool,
}

/// `sla:` of a scheduled job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    /// `SlaMissed` while a run is still going this long after it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<HumanDuration>,
    /// `HH:MM` in the schedule's zone, on the logical date's day: the run must have
    /// succeeded by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_by: Option<String>,
    /// A run must have started this long after the nominal fire time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_by: Option<HumanDuration>,
}

impl SlaSpec {
    /// `finish_by` as (hour, minute).
    pub fn finish_by_time(&self) -> Option<(u32, u32)> {
        self.finish_by.as_deref().and_then(parse_clock)
    }

    /// When a run of the fire at `nominal` must have started.
    pub fn start_deadline(&self, nominal: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = chrono::Duration::from_std(self.start_by?.as_std()).ok()?;
        nominal.checked_add_signed(limit)
    }

    /// When a run of the fire at `nominal` must have succeeded: `finish_by` on the
    /// fire's local day in `zone`, or the next day's when that is not after the fire.
    /// A wall-clock time that a DST gap skips counts from the end of the gap.
    pub fn finish_deadline(&self, nominal: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        let (hour, minute) = self.finish_by_time()?;
        let local_day = nominal.with_timezone(&zone).date_naive();
        for day in [local_day, local_day.succ_opt()?] {
            let wall = day.and_hms_opt(hour, minute, 0)?;
            let at = zone
                .from_local_datetime(&wall)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(wall + chrono::Duration::hours(1)))
                        .earliest()
                })?
                .with_timezone(&Utc);
            if at > nominal {
                return Some(at);
            }
        }
        None
    }

    /// When a run that started at `started_at` has gone on too long.
    pub fn duration_deadline(&self, started_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = chrono::Duration::from_std(self.max_duration?.as_std()).ok()?;
        started_at.checked_add_signed(limit)
    }
}

pub(super) fn read_alerts(value: &Value, problems: &mut Problems) -> Option<JobAlerts> {
    let map = problems.mapping(value, "alerts")?;
    problems.unknown_fields(map, "alerts", ALERTS_FIELDS);
    let severity = optional(map, "severity").and_then(|v| {
        let text = problems.string(v, "alerts.severity")?;
        if SEVERITIES.contains(&text) {
            Some(text.to_owned())
        } else {
            problems.push(
                "alerts.severity",
                format!(
                    "unknown severity {text:?} (one of {})",
                    SEVERITIES.join(", ")
                ),
            );
            None
        }
    });
    let mut labels = BTreeMap::new();
    if let Some(value) = optional(map, "labels")
        && let Some(entries) = problems.mapping(value, "alerts.labels")
    {
        if entries.len() > MAX_LABELS {
            problems.push(
                "alerts.labels",
                format!("names {} labels; the limit is {MAX_LABELS}", entries.len()),
            );
        }
        for (key, value) in entries.iter().take(MAX_LABELS) {
            let path = child("alerts.labels", key);
            let well_formed = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && key.len() <= 64;
            if !well_formed {
                problems.push(&path, format!("{key:?} is not a label name"));
            } else if RESERVED_LABELS.contains(&key.as_str()) {
                problems.push(&path, format!("label {key:?} is set by Orrery"));
            } else if let Some(text) = problems.scalar_string(value, &path) {
                labels.insert(key.clone(), text);
            }
        }
    }
    let retrying = optional(map, "retrying")
        .and_then(|v| problems.boolean(v, "alerts.retrying"))
        .unwrap_or(false);
    Some(JobAlerts {
        severity,
        labels,
        retrying,
    })
}

pub(super) fn read_sla(value: &Value, problems: &mut Problems) -> Option<SlaSpec> {
    let map = problems.mapping(value, "sla")?;
    problems.unknown_fields(map, "sla", SLA_FIELDS);
    let positive = |key: &str, problems: &mut Problems| {
        let path = child("sla", key);
        let duration = problems.duration(optional(map, key)?, &path)?;
        if duration.is_zero() {
            problems.push(&path, "must be longer than zero");
            return None;
        }
        Some(duration)
    };
    let max_duration = positive("max_duration", problems);
    let start_by = positive("start_by", problems);
    let finish_by = optional(map, "finish_by").and_then(|v| {
        let text = problems.string(v, "sla.finish_by")?;
        if parse_clock(text).is_some() {
            Some(text.to_owned())
        } else {
            problems.push(
                "sla.finish_by",
                format!("{text:?} is not a time of day as HH:MM (\"06:30\")"),
            );
            None
        }
    });
    if max_duration.is_none() && start_by.is_none() && finish_by.is_none() {
        problems.push(
            "sla",
            "give at least one of max_duration, finish_by, start_by",
        );
    }
    Some(SlaSpec {
        max_duration,
        finish_by,
        start_by,
    })
}

fn parse_clock(text: &str) -> Option<(u32, u32)> {
    let (hour, minute) = text.split_once(':')?;
    if hour.len() != 2 || minute.len() != 2 {
        return None;
    }
    let hour: u32 = hour.parse().ok()?;
    let minute: u32 = minute.parse().ok()?;
    (hour < 24 && minute < 60).then_some((hour, minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla(yaml: &str) -> SlaSpec {
        let value: Value = serde_json::from_str(yaml).expect("json");
        let mut problems = Problems::default();
        let read = read_sla(&value, &mut problems);
        assert_eq!(problems.count(), 0);
        read.expect("sla")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    #[test]
    fn deadlines_count_from_the_fire_in_its_zone() {
        let sla = sla(r#"{"start_by": "5m", "finish_by": "06:30", "max_duration": "45m"}"#);
        let shanghai: Tz = "Asia/Shanghai".parse().expect("zone");
        // 02:00 in Shanghai is 18:00 UTC the day before.
        let nominal = utc("2026-03-01T18:00:00Z");
        assert_eq!(
            sla.start_deadline(nominal),
            Some(utc("2026-03-01T18:05:00Z"))
        );
        assert_eq!(
            sla.finish_deadline(nominal, shanghai),
            Some(utc("2026-03-01T22:30:00Z")),
            "06:30 the same local day"
        );
        // A fire at 23:00 local must finish by 06:30 the next day.
        let late = utc("2026-03-01T15:00:00Z");
        assert_eq!(
            sla.finish_deadline(late, shanghai),
            Some(utc("2026-03-01T22:30:00Z"))
        );
        assert_eq!(
            sla.duration_deadline(nominal),
            Some(utc("2026-03-01T18:45:00Z"))
        );
        // 02:30 does not exist in New York on 2026-03-08: the deadline is 03:30 EDT.
        let gap = sla_with_finish("02:30");
        let new_york: Tz = "America/New_York".parse().expect("zone");
        assert_eq!(
            gap.finish_deadline(utc("2026-03-08T06:00:00Z"), new_york),
            Some(utc("2026-03-08T07:30:00Z"))
        );
    }

    fn sla_with_finish(time: &str) -> SlaSpec {
        SlaSpec {
            finish_by: Some(time.to_owned()),
            ..SlaSpec::default()
        }
    }

    #[test]
    fn problems_name_their_fields() {
        let cases = [
            (r#"{"finish_by": "6:30"}"#, "sla.finish_by"),
            (r#"{"finish_by": "24:00"}"#, "sla.finish_by"),
            (r#"{"start_by": "0s"}"#, "sla.start_by"),
            (r#"{"deadline": "1h"}"#, "sla.deadline"),
            (r#"{}"#, "sla"),
        ];
        for (text, path) in cases {
            let value: Value = serde_json::from_str(text).expect("json");
            let mut problems = Problems::default();
            read_sla(&value, &mut problems);
            let paths: Vec<String> = problems.into_vec().into_iter().map(|e| e.path).collect();
            assert!(paths.iter().any(|p| p == path), "{text}: {paths:?}");
        }
    }

    #[test]
    fn job_alerts_read_and_name_their_problems() {
        let value: Value = serde_json::from_str(
            r#"{"severity": "critical", "labels": {"team": "payments"}, "retrying": true}"#,
        )
        .expect("json");
        let mut problems = Problems::default();
        let alerts = read_alerts(&value, &mut problems).expect("alerts");
        assert_eq!(problems.count(), 0);
        assert_eq!(alerts.severity.as_deref(), Some("critical"));
        assert_eq!(alerts.labels["team"], "payments");
        assert!(alerts.retrying);
        let cases = [
            (r#"{"severity": "page"}"#, "alerts.severity"),
            (r#"{"labels": {"job": "x"}}"#, "alerts.labels.job"),
            (r#"{"labels": {"bad-name": "x"}}"#, "alerts.labels.bad-name"),
            (r#"{"retrying": "yes"}"#, "alerts.retrying"),
            (r#"{"sevrity": "info"}"#, "alerts.sevrity"),
        ];
        for (text, path) in cases {
            let value: Value = serde_json::from_str(text).expect("json");
            let mut problems = Problems::default();
            read_alerts(&value, &mut problems);
            let paths: Vec<String> = problems.into_vec().into_iter().map(|e| e.path).collect();
            assert!(paths.iter().any(|p| p == path), "{text}: {paths:?}");
        }
    }
}
