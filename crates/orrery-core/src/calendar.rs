//! Calendars: named sets of dates (public holidays, freeze weeks) that schedules list
//! in `exclude:` so that fires on those dates are recorded as excluded, not run.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `kind: Calendar` document. Only produced by [`crate::spec::parse_document`] (or
/// deserialized from its canonical form), so names are valid and ranges run forwards.
///
/// No `deny_unknown_fields`: serde does not support it together with the `kind` tag.
/// Unknown fields are rejected by `parse_document`, the way calendars enter the system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "Calendar")]
pub struct CalendarSpec {
    pub name: String,
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The dates, as written (order kept, overlaps allowed).
    pub dates: Vec<DateRange>,
}

impl CalendarSpec {
    /// Whether `date` is one of the calendar's dates.
    pub fn excludes(&self, date: NaiveDate) -> bool {
        self.dates.iter().any(|range| range.contains(date))
    }

    /// The stable serialization stored per calendar version (with `"kind":"Calendar"`
    /// so that it parses back as a calendar); keys sorted, see
    /// [`crate::spec::JobSpec::to_canonical_json`].
    pub fn to_canonical_json(&self) -> String {
        let mut value = serde_json::to_value(self)
            // Strings and dates only: serializing cannot fail.
            .expect("a CalendarSpec always serializes to JSON");
        crate::spec::sort_keys(&mut value);
        value.to_string()
    }
}

/// Consecutive dates, both ends included; a single date has `from == to`. Written
/// `"2026-01-01"` for one date and `{from: 2026-02-16, to: 2026-02-22}` for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// One date.
    pub fn day(date: NaiveDate) -> Self {
        DateRange {
            from: date,
            to: date,
        }
    }

    /// Whether `date` lies in the range.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// How a [`DateRange`] is written.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum DateRangeForm {
    Day(NaiveDate),
    Range(RangeForm),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeForm {
    from: NaiveDate,
    to: NaiveDate,
}

impl Serialize for DateRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.from == self.to {
            DateRangeForm::Day(self.from).serialize(serializer)
        } else {
            DateRangeForm::Range(RangeForm {
                from: self.from,
                to: self.to,
            })
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for DateRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match DateRangeForm::deserialize(deserializer)? {
            DateRangeForm::Day(date) => Ok(DateRange::day(date)),
            DateRangeForm::Range(RangeForm { from, to }) if from <= to => {
                Ok(DateRange { from, to })
            }
            DateRangeForm::Range(RangeForm { from, to }) => Err(serde::de::Error::custom(format!(
                "date range ends ({to}) before it starts ({from})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a valid date")
    }

    #[test]
    fn excludes_single_dates_and_inclusive_ranges() {
        let calendar = CalendarSpec {
            name: "cn-holidays".into(),
            project: "default".into(),
            description: None,
            dates: vec![
                DateRange::day(date("2026-01-01")),
                DateRange {
                    from: date("2026-02-16"),
                    to: date("2026-02-22"),
                },
            ],
        };
        let cases = [
            ("2025-12-31", false),
            ("2026-01-01", true),
            ("2026-01-02", false),
            ("2026-02-15", false),
            ("2026-02-16", true),
            ("2026-02-19", true),
            ("2026-02-22", true),
            ("2026-02-23", false),
        ];
        for (day, expected) in cases {
            assert_eq!(calendar.excludes(date(day)), expected, "{day}");
        }
    }

    #[test]
    fn canonical_json_round_trips_through_serde() {
        let calendar = CalendarSpec {
            name: "c".into(),
            project: "ops".into(),
            description: Some("freeze".into()),
            dates: vec![
                DateRange {
                    from: date("2026-12-20"),
                    to: date("2026-12-31"),
                },
                DateRange::day(date("2026-05-01")),
            ],
        };
        let text = calendar.to_canonical_json();
        assert_eq!(
            text,
            r#"{"dates":[{"from":"2026-12-20","to":"2026-12-31"},"2026-05-01"],"description":"freeze","kind":"Calendar","name":"c","project":"ops"}"#
        );
        let back: CalendarSpec = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, calendar);
        let backwards = r#"{"kind":"Calendar","name":"c","project":"p","dates":[{"from":"2026-02-02","to":"2026-02-01"}]}"#;
        assert!(serde_json::from_str::<CalendarSpec>(backwards).is_err());
    }
}
