//! Tests of `kind: Calendar` documents and of `parse_document`'s dispatch on `kind`.

use crate::calendar::{CalendarSpec, DateRange};
use crate::spec::{SpecDocument, SpecFormat, parse_document, parse_job_spec};
use chrono::NaiveDate;

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// Parses `yaml` as a document and compares the reported problems with `expected`;
/// an empty `expected` means it must be valid.
#[track_caller]
fn check(yaml: &str, expected: &[&str]) {
    let actual: Vec<String> = match parse_document(yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\ndocument:\n{yaml}");
}

const HOLIDAYS: &str = r#"
kind: Calendar
name: cn-holidays
description: Public holidays
dates:
  - 2026-01-01
  - "2026-10-01"
  - {from: 2026-02-16, to: 2026-02-22}
"#;

#[test]
fn a_calendar_parses() {
    let expected = CalendarSpec {
        name: "cn-holidays".into(),
        project: "default".into(),
        description: Some("Public holidays".into()),
        dates: vec![
            DateRange::day(date("2026-01-01")),
            DateRange::day(date("2026-10-01")),
            DateRange {
                from: date("2026-02-16"),
                to: date("2026-02-22"),
            },
        ],
    };
    let document = parse_document(HOLIDAYS, SpecFormat::Yaml).expect("valid");
    assert_eq!(document, SpecDocument::Calendar(expected.clone()));
    assert_eq!(
        (document.kind(), document.name(), document.project()),
        ("Calendar", "cn-holidays", "default")
    );
    assert!(expected.excludes(date("2026-02-18")));

    let canonical = document.to_canonical_json();
    assert_eq!(
        parse_document(&canonical, SpecFormat::Json),
        Ok(document.clone())
    );
    let reordered =
        "dates: [{to: 2026-02-22, from: 2026-02-16}, 2026-10-01]\nname: x\nkind: Calendar\n";
    let first = parse_document(reordered, SpecFormat::Yaml).expect("valid");
    let again = parse_document(&first.to_canonical_json(), SpecFormat::Json).expect("valid");
    assert_eq!(first.to_canonical_json(), again.to_canonical_json());
    check(
        "kind: Calendar\nname: empty\nproject: ops\ndates: []\n",
        &[],
    );
}

#[test]
fn calendar_problems_are_located() {
    check(
        "kind: Calendar\nname: Bad\ndates: [2026-02-30, 2026-1-5, 20260101, {from: 2026-03-02, to: 2026-03-01}, {from: 2026-01-01}, {from: 2026-01-01, to: 2026-01-02, every: 1d}]\nholidays: []\n",
        &[
            r#"holidays: unknown field "holidays" (expected one of: kind, name, project, description, dates)"#,
            "name: invalid name \"Bad\": use lowercase letters, digits, '.', '_' and '-', \
             starting with a letter or digit",
            r#"dates[0]: invalid date "2026-02-30": no such day (input is out of range)"#,
            r#"dates[1]: invalid date "2026-1-5": expected a date like "2026-01-01""#,
            r#"dates[2]: expected a date like "2026-01-01", found a number"#,
            "dates[3].to: 2026-03-01 is before from (2026-03-02): a range runs forwards",
            r#"dates[4].to: missing required field "to""#,
            r#"dates[5].every: unknown field "every" (expected one of: from, to)"#,
        ],
    );
    check(
        "kind: Calendar\nname: c\n",
        &[
            r#"dates: missing required field "dates" (dates like "2026-01-01" or ranges like {from: 2026-02-16, to: 2026-02-22})"#,
        ],
    );
    check(
        "kind: Calendar\nname: c\ndates: 2026-01-01\n",
        &["dates: expected a list, found a string"],
    );
}

#[test]
fn documents_dispatch_on_kind() {
    let job = "name: j\ntasks: [{name: a, type: noop}]\n";
    let parsed = parse_document(job, SpecFormat::Yaml).expect("valid");
    assert_eq!(
        parsed,
        SpecDocument::Job(parse_job_spec(job, SpecFormat::Yaml).expect("valid"))
    );
    assert_eq!(parsed.kind(), "Job");
    let canonical = parsed.to_canonical_json();
    assert_eq!(parse_document(&canonical, SpecFormat::Json), Ok(parsed));
    assert!(matches!(
        parse_document(&format!("kind: Job\n{job}"), SpecFormat::Yaml),
        Ok(SpecDocument::Job(_))
    ));
    check(
        "kind: Calender\nname: c\ndates: []\n",
        &[
            r#"kind: unsupported kind "Calender" (expected one of "Job", "Calendar", "Receiver", "AlertRoute"), did you mean "Calendar"?"#,
        ],
    );
    check(
        "kind: CronJob\nname: c\n",
        &[
            r#"kind: unsupported kind "CronJob" (expected one of "Job", "Calendar", "Receiver", "AlertRoute")"#,
        ],
    );
    check(
        "kind: 3\nname: j\ntasks: [{name: a, type: noop}]\n",
        &["kind: expected a string, found a number"],
    );
    // The job parser keeps refusing other kinds.
    let errors = parse_job_spec(HOLIDAYS, SpecFormat::Yaml).expect_err("not a job");
    assert!(
        errors
            .iter()
            .any(|e| e.to_string() == r#"kind: unsupported kind "Calendar" (expected "Job")"#),
        "{errors}"
    );
}
