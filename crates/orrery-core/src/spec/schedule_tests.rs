//! Tests of the `schedule:` block: the full form, defaults, canonical JSON and every
//! bad input, each located by its field path.

use crate::duration::HumanDuration;
use crate::schedule::{
    ConcurrencyPolicy, DstGapPolicy, DstOverlapPolicy, MisfirePolicy, ScheduleSpec, Trigger,
};
use crate::spec::{JobSpec, SpecFormat, parse_job_spec};
use chrono::{DateTime, Utc};
use std::num::NonZeroU32;
use std::time::Duration;

/// A job with the given schedule block (YAML, indented under `schedule:`).
fn job(schedule: &str) -> String {
    format!("name: j\ntasks: [{{name: a, type: noop}}]\nschedule:\n{schedule}")
}

/// Parses a job with `schedule` and compares the reported problems (`path: message`)
/// with `expected`; an empty `expected` means the spec must be valid.
#[track_caller]
fn check(schedule: &str, expected: &[&str]) {
    let yaml = job(schedule);
    let actual: Vec<String> = match parse_job_spec(&yaml, SpecFormat::Yaml) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(actual, expected, "\nspec:\n{yaml}");
}

fn parse(schedule: &str) -> ScheduleSpec {
    parse_job_spec(&job(schedule), SpecFormat::Yaml)
        .expect("a valid spec")
        .schedule
        .expect("a schedule")
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a timestamp")
        .with_timezone(&Utc)
}

fn count(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("not zero")
}

const FULL: &str = "  cron: \"0 30  2 * * *\"
  timezone: Asia/Shanghai
  start: 2026-01-01T00:00:00Z
  end: 2027-01-01T08:00:00+08:00
  misfire: run_all
  max_catchup: 50
  dst_gap: skip
  dst_overlap: both
  exclude: [cn-holidays, freeze]
  concurrency: queue
  max_active_runs: 2
  paused: true
  misfire_threshold: 30s
";

fn full_expected() -> ScheduleSpec {
    ScheduleSpec {
        trigger: Trigger::Cron("0 30 2 * * *".into()),
        timezone: Some(chrono_tz::Asia::Shanghai),
        start: Some(utc("2026-01-01T00:00:00Z")),
        end: Some(utc("2027-01-01T00:00:00Z")),
        misfire: MisfirePolicy::RunAll,
        max_catchup: count(50),
        misfire_threshold: Some("30s".parse().expect("duration")),
        dst_gap: DstGapPolicy::Skip,
        dst_overlap: DstOverlapPolicy::Both,
        exclude: vec!["cn-holidays".into(), "freeze".into()],
        concurrency: ConcurrencyPolicy::Queue,
        max_active_runs: count(2),
        paused: true,
    }
}

#[test]
fn the_full_block_parses() {
    assert_eq!(parse(FULL), full_expected());
}

#[test]
fn defaults_fill_what_is_left_out() {
    let spec = parse("  cron: \"@daily\"\n");
    assert_eq!(spec, ScheduleSpec::new(Trigger::Cron("@daily".into())));
    assert_eq!(spec.misfire, MisfirePolicy::RunOnce);
    assert_eq!(spec.max_catchup, count(100));
    assert_eq!(spec.dst_gap, DstGapPolicy::Shift);
    assert_eq!(spec.dst_overlap, DstOverlapPolicy::First);
    assert_eq!(spec.concurrency, ConcurrencyPolicy::Allow);
    assert_eq!(spec.max_active_runs, count(16));
    assert!(!spec.paused);
    assert_eq!(spec.timezone, None);

    let every = parse("  every: 90s\n");
    assert_eq!(
        every.trigger,
        Trigger::Every(HumanDuration(Duration::from_secs(90)))
    );
    let at = parse("  at: \"2026-12-01T08:00:00+08:00\"\n");
    assert_eq!(at.trigger, Trigger::At(utc("2026-12-01T00:00:00Z")));
}

#[test]
fn canonical_json_round_trips_with_every_default_written() {
    let spec = parse_job_spec(&job(FULL), SpecFormat::Yaml).expect("valid");
    let canonical = spec.to_canonical_json();
    assert!(
        canonical.contains(
            r#""schedule":{"concurrency":"queue","cron":"0 30 2 * * *","dst_gap":"skip","dst_overlap":"both","end":"2027-01-01T00:00:00Z","exclude":["cn-holidays","freeze"],"max_active_runs":2,"max_catchup":50,"misfire":"run_all","misfire_threshold":"30s","paused":true,"start":"2026-01-01T00:00:00Z","timezone":"Asia/Shanghai"}"#
        ),
        "{canonical}"
    );
    assert_eq!(
        parse_job_spec(&canonical, SpecFormat::Json),
        Ok(spec.clone())
    );
    let back: Result<JobSpec, _> = serde_json::from_str(&canonical);
    assert_eq!(back.map_err(|e| e.to_string()), Ok(spec));

    // Defaults are written out, so leaving them out or spelling them gives one text.
    let terse = parse_job_spec(&job("  every: 60s\n"), SpecFormat::Yaml).expect("valid");
    let spelled = parse_job_spec(
        &job("  every: 1m\n  misfire: run_once\n  max_catchup: 100\n  paused: false\n"),
        SpecFormat::Yaml,
    )
    .expect("valid");
    assert_eq!(terse.to_canonical_json(), spelled.to_canonical_json());
    let text = terse.to_canonical_json();
    assert!(
        text.contains(r#""schedule":{"concurrency":"allow","dst_gap":"shift","dst_overlap":"first","every":"1m","max_active_runs":16,"max_catchup":100,"misfire":"run_once","paused":false}"#),
        "{text}"
    );
    for schedule in ["  every: 1m\n", "  at: \"2026-12-01T08:00:00+08:00\"\n"] {
        let spec = parse_job_spec(&job(schedule), SpecFormat::Yaml).expect("valid");
        let canonical = spec.to_canonical_json();
        assert_eq!(
            parse_job_spec(&canonical, SpecFormat::Json),
            Ok(spec.clone())
        );
        let back: Result<JobSpec, _> = serde_json::from_str(&canonical);
        assert_eq!(back.map_err(|e| e.to_string()), Ok(spec));
    }
}

#[test]
fn bad_triggers() {
    check(
        "  cron: \"0 0 32 * *\"\n",
        &["schedule.cron: day-of-month 32 out of range 1-31"],
    );
    check(
        "  cron: \"0 0 * * * * * *\"\n",
        &[
            "schedule.cron: expected 5 fields (minute hour day-of-month month day-of-week), 6 (a \
           second first) or 7 (and a year last), found 8",
        ],
    );
    check(
        "  cron: \"@daily\"\n  every: 30s\n",
        &[r#"schedule.every: cannot be combined with "cron": use one of cron, every, at"#],
    );
    check(
        "  cron: \"@daily\"\n  every: 30s\n  at: \"2026-01-01T00:00:00Z\"\n",
        &[
            r#"schedule.every: cannot be combined with "cron": use one of cron, every, at"#,
            r#"schedule.at: cannot be combined with "cron": use one of cron, every, at"#,
        ],
    );
    check(
        "  every: 0s\n",
        &["schedule.every: must be longer than zero"],
    );
    check(
        "  every: 30\n",
        &["schedule.every: expected a duration string like \"30s\", found a number"],
    );
    check(
        "  timezone: UTC\n",
        &[r#"schedule: one of "cron", "every" or "at" is required (when the job fires)"#],
    );
    check(
        "  cron: 5\n",
        &["schedule.cron: expected a string, found a number"],
    );
    check(
        "  at: tomorrow\n",
        &[
            r#"schedule.at: invalid timestamp "tomorrow": expected an RFC 3339 timestamp like "2026-01-01T00:00:00Z""#,
        ],
    );
    check(
        "  at: 2026-12-01T08:00:00\n",
        &[
            r#"schedule.at: invalid timestamp "2026-12-01T08:00:00": expected an RFC 3339 timestamp like "2026-01-01T00:00:00Z" (add the offset: Z for UTC or +08:00)"#,
        ],
    );
    check(
        "  at: 2026-12-01T08:00:00Z\n  start: 2027-01-01T00:00:00Z\n",
        &[
            "schedule.at: 2026-12-01T08:00:00Z lies outside the start/end window, so the job \
           would never fire",
        ],
    );
    check("  [1]\n", &["schedule: expected a mapping, found a list"]);
}

#[test]
fn bad_zone_and_window() {
    check(
        "  cron: \"@daily\"\n  timezone: Asia/Shangai\n",
        &[r#"schedule.timezone: unknown time zone "Asia/Shangai", did you mean "Asia/Shanghai"?"#],
    );
    check(
        "  cron: \"@daily\"\n  timezone: asia/shanghai\n",
        &[r#"schedule.timezone: unknown time zone "asia/shanghai", did you mean "Asia/Shanghai"?"#],
    );
    check(
        "  cron: \"@daily\"\n  timezone: New York\n",
        &[r#"schedule.timezone: unknown time zone "New York", did you mean "America/New_York"?"#],
    );
    check(
        "  cron: \"@daily\"\n  timezone: Mars/Olympus\n",
        &[
            r#"schedule.timezone: unknown time zone "Mars/Olympus" (use an IANA name such as "Asia/Shanghai" or "UTC")"#,
        ],
    );
    check(
        "  cron: \"@daily\"\n  start: 2026-06-01T00:00:00Z\n  end: 2026-01-01T00:00:00Z\n",
        &[
            "schedule.end: must be after start (2026-01-01T00:00:00Z is not after \
           2026-06-01T00:00:00Z)",
        ],
    );
    check(
        "  cron: \"@daily\"\n  start: 2026-06-01T00:00:00Z\n  end: 2026-06-01T08:00:00+08:00\n",
        &[
            "schedule.end: must be after start (2026-06-01T00:00:00Z is not after \
           2026-06-01T00:00:00Z)",
        ],
    );
    check(
        "  cron: \"@daily\"\n  start: 20260101\n",
        &[
            r#"schedule.start: expected an RFC 3339 timestamp like "2026-01-01T00:00:00Z", found a number"#,
        ],
    );
}

#[test]
fn bad_policies_and_counts() {
    check(
        "  cron: \"@daily\"\n  misfire: run-all\n  dst_gap: later\n  dst_overlap: second\n  \
         concurrency: forbidden\n",
        &[
            r#"schedule.misfire: unknown misfire policy "run-all", did you mean "run_all"?"#,
            r#"schedule.dst_gap: unknown dst_gap policy "later" (expected one of: shift, skip)"#,
            r#"schedule.dst_overlap: unknown dst_overlap policy "second" (expected one of: first, last, both)"#,
            r#"schedule.concurrency: unknown concurrency policy "forbidden" (expected one of: allow, forbid, replace, queue)"#,
        ],
    );
    check(
        "  cron: \"@daily\"\n  max_catchup: 0\n  max_active_runs: 0\n",
        &[
            "schedule.max_catchup: must be at least 1, found 0",
            "schedule.max_active_runs: must be at least 1, found 0",
        ],
    );
    check(
        "  cron: \"@daily\"\n  max_catchup: 10001\n  max_active_runs: -1\n",
        &[
            "schedule.max_catchup: must be at most 10000, found 10001",
            "schedule.max_active_runs: expected a whole number of at least 1, found -1",
        ],
    );
    check(
        "  cron: \"@daily\"\n  max_catchup: 2.5\n  max_active_runs: \"3\"\n  paused: yes\n",
        &[
            "schedule.max_catchup: expected a whole number from 1 to 10000, found 2.5",
            "schedule.max_active_runs: expected a whole number of at least 1, found a string",
            "schedule.paused: expected true or false, found a string",
        ],
    );
    check("  cron: \"@daily\"\n  max_catchup: 10000\n", &[]);
    check(
        "  cron: \"@daily\"\n  concurrency: forbd\n",
        &[r#"schedule.concurrency: unknown concurrency policy "forbd", did you mean "forbid"?"#],
    );
    check(
        "  cron: \"@daily\"\n  start: 2026-13-01T00:00:00Z\n",
        &[
            r#"schedule.start: invalid timestamp "2026-13-01T00:00:00Z": expected an RFC 3339 timestamp like "2026-01-01T00:00:00Z" (input is out of range)"#,
        ],
    );
}

#[test]
fn bad_exclusions_and_fields() {
    check(
        "  cron: \"@daily\"\n  exclude: [cn-holidays, Bad Name, cn-holidays, 3]\n",
        &[
            "schedule.exclude[1]: invalid name \"Bad Name\": use lowercase letters, digits, \
             '.', '_' and '-', starting with a letter or digit",
            "schedule.exclude[2]: calendar \"cn-holidays\" is already listed at exclude[0]",
            "schedule.exclude[3]: expected a string, found a number",
        ],
    );
    check(
        "  cron: \"@daily\"\n  exclude: cn-holidays\n",
        &["schedule.exclude: expected a list, found a string"],
    );
    check(
        "  cron: \"@daily\"\n  timzone: UTC\n",
        &[r#"schedule.timzone: unknown field "timzone", did you mean "timezone"?"#],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    check(
        "  cron: \"61 * * * *\"\n  timezone: Nowhere\n  misfire: never\n",
        &[
            "schedule.cron: minute 61 out of range 0-59",
            r#"schedule.timezone: unknown time zone "Nowhere" (use an IANA name such as "Asia/Shanghai" or "UTC")"#,
            r#"schedule.misfire: unknown misfire policy "never" (expected one of: skip, run_once, run_all)"#,
        ],
    );
}

#[test]
fn unquoted_cron_shorthands_and_stars_get_a_yaml_hint() {
    for schedule in ["  cron: @daily\n", "  cron: */5 * * * *\n"] {
        let errors = parse_job_spec(&job(schedule), SpecFormat::Yaml).expect_err("YAML error");
        let message = &errors.iter().next().expect("one error").message;
        assert!(
            message.ends_with(
                "(a value starting with @ or * must be quoted in YAML, e.g. cron: \"@daily\")"
            ),
            "{message}"
        );
    }
    assert_eq!(
        parse("  cron: 0 30 2 * * *\n").trigger,
        Trigger::Cron("0 30 2 * * *".into())
    );
}
