//! Fire times away from DST: cron forms, `every`, `at`, the start/end window and the
//! consistency of `next_after`, `fires_between` and `previous_before`.

use super::*;
use crate::duration::HumanDuration;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use std::time::Duration;

pub(super) fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 test instant")
        .with_timezone(&Utc)
}

pub(super) fn zone(name: &str) -> Tz {
    name.parse().expect("a known zone")
}

/// A schedule with `trigger` in `tz`, adjusted by `adjust`.
pub(super) fn compiled(
    trigger: Trigger,
    tz: &str,
    adjust: impl FnOnce(&mut ScheduleSpec),
) -> CompiledSchedule {
    let mut spec = ScheduleSpec::new(trigger);
    adjust(&mut spec);
    compile(&spec, zone(tz)).expect("a valid schedule")
}

pub(super) fn cron(expression: &str, tz: &str) -> CompiledSchedule {
    compiled(Trigger::Cron(expression.into()), tz, |_| {})
}

/// Checks the fires after `after` are `expected` (RFC 3339 in the schedule's zone, so
/// the offsets show), that each one's `next_after` is the next and each one's
/// `previous_before` the one before. Ask for one fire more than the schedule has to
/// check it ends (`"end"` as the last expected entry).
#[track_caller]
pub(super) fn check(schedule: &CompiledSchedule, after: &str, expected: &[&str]) {
    let tz = schedule.timezone();
    let wanted: Vec<&str> = expected.iter().copied().filter(|e| *e != "end").collect();
    let ends = expected.last() == Some(&"end");
    let far = utc("2199-12-31T23:59:59Z");
    let limit = if ends { wanted.len() + 1 } else { wanted.len() };
    let fires = schedule.fires_between(utc(after), far, limit);
    let shown: Vec<String> = fires
        .iter()
        .map(|fire| fire.with_timezone(&tz).to_rfc3339())
        .collect();
    assert_eq!(shown, wanted, "fires after {after}");
    for pair in fires.windows(2) {
        assert_eq!(schedule.next_after(pair[0]), Some(pair[1]));
        assert_eq!(schedule.previous_before(pair[1]), Some(pair[0]));
    }
}

#[test]
fn five_six_and_seven_field_expressions() {
    check(
        &cron("*/20 * * * *", "UTC"),
        "2026-01-01T10:05:00Z",
        &[
            "2026-01-01T10:20:00+00:00",
            "2026-01-01T10:40:00+00:00",
            "2026-01-01T11:00:00+00:00",
        ],
    );
    check(
        &cron("30 */20 * * * *", "UTC"),
        "2026-01-01T10:05:00Z",
        &[
            "2026-01-01T10:20:30+00:00",
            "2026-01-01T10:40:30+00:00",
            "2026-01-01T11:00:30+00:00",
        ],
    );
    check(
        &cron("0 0 12 1 1 * 2027,2029", "UTC"),
        "2026-06-01T00:00:00Z",
        &[
            "2027-01-01T12:00:00+00:00",
            "2029-01-01T12:00:00+00:00",
            "end",
        ],
    );
    check(
        &cron("0 30 2 * * *", "Asia/Shanghai"),
        "2026-01-01T00:00:00Z",
        &["2026-01-02T02:30:00+08:00", "2026-01-03T02:30:00+08:00"],
    );
}

#[test]
fn shorthands() {
    let after = "2026-01-01T00:00:00Z";
    check(
        &cron("@daily", "Asia/Shanghai"),
        after,
        &["2026-01-02T00:00:00+08:00", "2026-01-03T00:00:00+08:00"],
    );
    check(
        &cron("@midnight", "UTC"),
        after,
        &["2026-01-02T00:00:00+00:00"],
    );
    check(
        &cron("@hourly", "UTC"),
        after,
        &["2026-01-01T01:00:00+00:00", "2026-01-01T02:00:00+00:00"],
    );
    // 2026-01-04 is the first Sunday of the year.
    check(
        &cron("@weekly", "UTC"),
        after,
        &["2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"],
    );
    check(
        &cron("@monthly", "UTC"),
        after,
        &["2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"],
    );
    check(
        &cron("@yearly", "UTC"),
        after,
        &["2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"],
    );
    check(
        &cron("@annually", "UTC"),
        after,
        &["2027-01-01T00:00:00+00:00"],
    );
}

#[test]
fn last_weekday_nearest_and_nth() {
    let after = "2026-01-01T00:00:00Z";
    check(
        &cron("0 0 L * *", "UTC"),
        after,
        &[
            "2026-01-31T00:00:00+00:00",
            "2026-02-28T00:00:00+00:00",
            "2026-03-31T00:00:00+00:00",
        ],
    );
    // Jan 31 and Feb 28 2026 are Saturdays.
    check(
        &cron("0 0 LW * *", "UTC"),
        after,
        &[
            "2026-01-30T00:00:00+00:00",
            "2026-02-27T00:00:00+00:00",
            "2026-03-31T00:00:00+00:00",
        ],
    );
    // The 15th: Thursday in January, Sunday in February and March.
    check(
        &cron("0 0 15W * *", "UTC"),
        after,
        &[
            "2026-01-15T00:00:00+00:00",
            "2026-02-16T00:00:00+00:00",
            "2026-03-16T00:00:00+00:00",
        ],
    );
    check(
        &cron("0 0 * * 5#2", "UTC"),
        after,
        &[
            "2026-01-09T00:00:00+00:00",
            "2026-02-13T00:00:00+00:00",
            "2026-03-13T00:00:00+00:00",
        ],
    );
    check(
        &cron("0 0 * * FRIL", "UTC"),
        after,
        &[
            "2026-01-30T00:00:00+00:00",
            "2026-02-27T00:00:00+00:00",
            "2026-03-27T00:00:00+00:00",
        ],
    );
}

#[test]
fn names_lists_ranges_and_steps() {
    check(
        &cron("0 9 * JAN,JUL MON-WED", "UTC"),
        "2026-01-20T10:00:00Z",
        &[
            "2026-01-21T09:00:00+00:00",
            "2026-01-26T09:00:00+00:00",
            "2026-01-27T09:00:00+00:00",
            "2026-01-28T09:00:00+00:00",
            "2026-07-01T09:00:00+00:00",
        ],
    );
    check(
        &cron("0 0 * * FRI-SUN", "UTC"),
        "2026-01-01T00:00:00Z",
        &[
            "2026-01-02T00:00:00+00:00",
            "2026-01-03T00:00:00+00:00",
            "2026-01-04T00:00:00+00:00",
            "2026-01-09T00:00:00+00:00",
        ],
    );
    // Day-of-month and day-of-week both restricted: either matches (Vixie cron).
    check(
        &cron("0 0 13 * FRI", "UTC"),
        "2026-01-08T00:00:00Z",
        &[
            "2026-01-09T00:00:00+00:00",
            "2026-01-13T00:00:00+00:00",
            "2026-01-16T00:00:00+00:00",
        ],
    );
    check(
        &cron("0/25 10 * * *", "UTC"),
        "2026-01-01T00:00:00Z",
        &[
            "2026-01-01T10:00:00+00:00",
            "2026-01-01T10:25:00+00:00",
            "2026-01-01T10:50:00+00:00",
            "2026-01-02T10:00:00+00:00",
        ],
    );
}

#[test]
fn fractions_of_a_second_are_handled() {
    let every_second = cron("* * * * * *", "UTC");
    let after = utc("2026-01-01T10:00:00.5Z");
    assert_eq!(
        every_second.next_after(after),
        Some(utc("2026-01-01T10:00:01Z"))
    );
    assert_eq!(
        every_second.previous_before(after),
        Some(utc("2026-01-01T10:00:00Z"))
    );
    assert_eq!(
        every_second.next_after(utc("2026-01-01T10:00:00Z")),
        Some(utc("2026-01-01T10:00:01Z"))
    );
    assert_eq!(
        every_second.previous_before(utc("2026-01-01T10:00:00Z")),
        Some(utc("2026-01-01T09:59:59Z"))
    );
}

fn every(period: &str) -> Trigger {
    Trigger::Every(period.parse::<HumanDuration>().expect("a duration"))
}

#[test]
fn every_is_anchored_at_start_or_the_epoch() {
    check(
        &compiled(every("30s"), "UTC", |_| {}),
        "2026-01-01T00:00:10Z",
        &["2026-01-01T00:00:30+00:00", "2026-01-01T00:01:00+00:00"],
    );
    let from_start = compiled(every("10m"), "UTC", |spec| {
        spec.start = Some(utc("2026-01-01T00:00:07.250Z"));
    });
    check(
        &from_start,
        "2025-06-01T00:00:00Z",
        &[
            "2026-01-01T00:00:07.250+00:00",
            "2026-01-01T00:10:07.250+00:00",
        ],
    );
    assert_eq!(
        from_start.previous_before(utc("2026-01-01T00:00:07.250Z")),
        None
    );
    check(
        &compiled(every("7s"), "UTC", |_| {}),
        "1970-01-01T00:00:00Z",
        &["1970-01-01T00:00:07+00:00", "1970-01-01T00:00:14+00:00"],
    );
    assert_eq!(
        compiled(every("7s"), "UTC", |_| {}).previous_before(utc("1970-01-01T00:00:00Z")),
        Some(utc("1969-12-31T23:59:53Z"))
    );
}

#[test]
fn at_fires_once() {
    let once = compiled(
        Trigger::At(utc("2026-12-01T08:00:00+08:00")),
        "Asia/Shanghai",
        |_| {},
    );
    check(
        &once,
        "2026-01-01T00:00:00Z",
        &["2026-12-01T08:00:00+08:00", "end"],
    );
    assert_eq!(once.next_after(utc("2026-12-01T00:00:00Z")), None);
    assert_eq!(
        once.previous_before(utc("2027-01-01T00:00:00Z")),
        Some(utc("2026-12-01T00:00:00Z"))
    );
    assert_eq!(once.previous_before(utc("2026-12-01T00:00:00Z")), None);
}

#[test]
fn start_is_inclusive_and_end_exclusive() {
    let window = compiled(Trigger::Cron("@daily".into()), "UTC", |spec| {
        spec.start = Some(utc("2026-01-03T00:00:00Z"));
        spec.end = Some(utc("2026-01-06T00:00:00Z"));
    });
    check(
        &window,
        "2026-01-01T00:00:00Z",
        &[
            "2026-01-03T00:00:00+00:00",
            "2026-01-04T00:00:00+00:00",
            "2026-01-05T00:00:00+00:00",
            "end",
        ],
    );
    assert_eq!(window.next_after(utc("2026-01-05T00:00:00Z")), None);
    assert_eq!(window.previous_before(utc("2026-01-03T00:00:00Z")), None);
    assert_eq!(
        window.previous_before(utc("2030-01-01T00:00:00Z")),
        Some(utc("2026-01-05T00:00:00Z"))
    );
    let fires = window.fires_between(utc("2026-01-01T00:00:00Z"), utc("2026-01-04T00:00:00Z"), 10);
    assert_eq!(
        fires,
        vec![utc("2026-01-03T00:00:00Z"), utc("2026-01-04T00:00:00Z")]
    );
    assert_eq!(fires.len(), 2);
    let capped = window.fires_between(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"), 1);
    assert_eq!(capped, vec![utc("2026-01-03T00:00:00Z")]);
}

#[test]
fn compile_rejects_what_the_parser_rejects() {
    let mut spec = ScheduleSpec::new(Trigger::Cron("0 0 32 * *".into()));
    assert_eq!(
        compile(&spec, Tz::UTC).map(|_| ()),
        Err(ScheduleError::Invalid {
            path: "schedule.cron",
            message: "day-of-month 32 out of range 1-31".into()
        })
    );
    spec.trigger = Trigger::Every(HumanDuration(Duration::ZERO));
    assert!(compile(&spec, Tz::UTC).is_err());
    spec.trigger = Trigger::Cron("@daily".into());
    spec.start = Some(utc("2026-02-01T00:00:00Z"));
    spec.end = Some(utc("2026-01-01T00:00:00Z"));
    assert!(compile(&spec, Tz::UTC).is_err());
}

#[test]
fn zone_and_local_date() {
    let shanghai = cron("@daily", "Asia/Shanghai");
    assert_eq!(shanghai.timezone(), zone("Asia/Shanghai"));
    assert_eq!(
        shanghai.local_date(utc("2026-01-01T16:30:00Z")),
        NaiveDate::from_ymd_opt(2026, 1, 2).expect("a date")
    );
    let mut spec = ScheduleSpec::new(Trigger::Cron("@daily".into()));
    spec.timezone = None;
    let defaulted = compile(&spec, zone("Europe/London")).expect("valid");
    assert_eq!(defaulted.timezone(), zone("Europe/London"));
}

/// A small deterministic generator for the property-style loop.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn fires_are_strictly_increasing_and_consistent_everywhere() {
    let zones = [
        "UTC",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Shanghai",
        "America/Havana",
    ];
    let expressions = [
        "* * * * *",
        "*/7 * * * *",
        "0 * * * *",
        "30 2 * * *",
        "30 1 * * *",
        "*/15 1-3 * * *",
        "0,30 2 * * *",
        "45 1 * * *",
        "0 0 * * *",
        "0 0 L * *",
        "0 0 * * 0#1",
        "15 30 1,2 * * *",
    ];
    let gaps = [DstGapPolicy::Shift, DstGapPolicy::Skip];
    let overlaps = [
        DstOverlapPolicy::First,
        DstOverlapPolicy::Last,
        DstOverlapPolicy::Both,
    ];
    // Starting instants cluster around the 2026 transitions of the zones above.
    let anchors = [
        utc("2026-03-08T05:00:00Z"),
        utc("2026-11-01T04:00:00Z"),
        utc("2026-03-29T00:00:00Z"),
        utc("2026-10-25T00:00:00Z"),
        utc("2026-04-04T14:00:00Z"),
        utc("2026-10-03T15:00:00Z"),
        utc("2026-03-08T04:00:00Z"),
    ];
    let mut random = Lcg(42);
    for _ in 0..300 {
        let tz = zones[random.next(zones.len() as u64) as usize];
        let expression = expressions[random.next(expressions.len() as u64) as usize];
        let anchor = anchors[random.next(anchors.len() as u64) as usize];
        let jitter = i64::try_from(random.next(6 * 3600)).expect("small") - 3 * 3600;
        let after = anchor + TimeDelta::seconds(jitter);
        let gap = gaps[random.next(2) as usize];
        let overlap = overlaps[random.next(3) as usize];
        let schedule = compiled(Trigger::Cron(expression.into()), tz, |spec| {
            spec.dst_gap = gap;
            spec.dst_overlap = overlap;
        });
        let context = format!("{expression} in {tz} after {after} ({gap:?}, {overlap:?})");
        let fires = schedule.fires_between(after, after + TimeDelta::days(62), 60);
        assert!(!fires.is_empty(), "{context}");
        assert!(fires[0] > after, "{context}");
        for pair in fires.windows(2) {
            assert!(pair[0] < pair[1], "{context}: {fires:?}");
            assert_eq!(schedule.next_after(pair[0]), Some(pair[1]), "{context}");
            assert_eq!(
                schedule.previous_before(pair[1]),
                Some(pair[0]),
                "{context}"
            );
        }
        assert_eq!(
            schedule.previous_before(fires[0] + TimeDelta::nanoseconds(1)),
            Some(fires[0]),
            "{context}"
        );
        if let Some(before) = schedule.previous_before(fires[0]) {
            assert!(
                before <= after,
                "{context}: {before} is a fire between {after} and {}",
                fires[0]
            );
        }
    }
}
