//! Validation of a `kind: Calendar` document.

use super::error::SpecErrors;
use super::fields::{Problems, child, item, optional};
use crate::calendar::{CalendarSpec, DateRange};
use chrono::NaiveDate;
use serde_json::Value;

const CALENDAR_FIELDS: &[&str] = &["kind", "name", "project", "description", "dates"];
const RANGE_FIELDS: &[&str] = &["from", "to"];

/// Most entries a calendar may list.
const MAX_ENTRIES: usize = 10_000;

/// Checks a parsed calendar document and builds the calendar when it has no problem.
pub(super) fn validate_calendar(document: &Value) -> Result<CalendarSpec, SpecErrors> {
    let mut problems = Problems::default();
    let read = read_calendar(document, &mut problems);
    problems.finish(read, "the calendar")
}

fn read_calendar(document: &Value, problems: &mut Problems) -> Option<CalendarSpec> {
    let head = problems.document_head(document, CALENDAR_FIELDS)?;
    let (map, name, project) = (head.map, head.name, head.project);
    let description = optional(map, "description")
        .and_then(|value| problems.string(value, "description"))
        .map(str::to_owned);
    let hint = " (dates like \"2026-01-01\" or ranges like {from: 2026-02-16, to: 2026-02-22})";
    let entries = problems
        .required(map, "", "dates", hint)
        .and_then(|value| problems.list(value, "dates"))?;
    if entries.len() > MAX_ENTRIES {
        problems.push(
            "dates",
            format!(
                "lists {} entries; the limit is {MAX_ENTRIES}",
                entries.len()
            ),
        );
        return None;
    }
    let dates = entries
        .iter()
        .enumerate()
        .map(|(entry_idx, entry)| read_entry(entry, &item("dates", entry_idx), problems))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Option<Vec<_>>>()?;
    Some(CalendarSpec {
        name: name?,
        project: project?,
        description,
        dates,
    })
}

/// Reads `"2026-01-01"` or `{from: …, to: …}`.
fn read_entry(value: &Value, path: &str, problems: &mut Problems) -> Option<DateRange> {
    if let Value::Object(map) = value {
        problems.unknown_fields(map, path, RANGE_FIELDS);
        let from = problems
            .required(map, path, "from", "")
            .and_then(|value| read_date(value, &child(path, "from"), problems));
        let to = problems
            .required(map, path, "to", "")
            .and_then(|value| read_date(value, &child(path, "to"), problems));
        let (from, to) = (from?, to?);
        if to < from {
            problems.push(
                &child(path, "to"),
                format!("{to} is before from ({from}): a range runs forwards"),
            );
            return None;
        }
        return Some(DateRange { from, to });
    }
    read_date(value, path, problems).map(DateRange::day)
}

/// Reads a `YYYY-MM-DD` date.
fn read_date(value: &Value, path: &str, problems: &mut Problems) -> Option<NaiveDate> {
    let expected = "a date like \"2026-01-01\"";
    let Value::String(text) = value else {
        problems.wrong_type(path, expected, value);
        return None;
    };
    let well_formed = text.len() == 10
        && text.bytes().enumerate().all(|(idx, byte)| {
            matches!(idx, 4 | 7) == (byte == b'-') && (byte == b'-' || byte.is_ascii_digit())
        });
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) if well_formed => Some(date),
        Ok(_) => {
            problems.push(path, format!("invalid date {text:?}: expected {expected}"));
            None
        }
        Err(error) => {
            let reason = if well_formed {
                format!("no such day ({error})")
            } else {
                format!("expected {expected}")
            };
            problems.push(path, format!("invalid date {text:?}: {reason}"));
            None
        }
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
