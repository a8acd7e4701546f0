//! DST behaviour in the four reference zones across both 2026 transitions, each
//! policy, and what croner does on its own (the reason we wrap it).
//!
//! 2026 transitions: America/New_York 03-08 02:00 EST→03:00 EDT, 11-01 02:00 EDT→01:00
//! EST; Europe/London 03-29 01:00 GMT→02:00 BST, 10-25 02:00 BST→01:00 GMT;
//! Australia/Lord_Howe 04-05 02:00 (+11)→01:30 (+10:30), 10-04 02:00 (+10:30)→02:30
//! (+11); Asia/Shanghai none.

use super::fire_tests::{check, compiled, utc, zone};
use super::*;
use chrono::{DateTime, TimeZone};
use croner::Cron;
use std::str::FromStr;

/// Checks the fires of `expression` in `tz` under the policies written
/// `"gap/overlap"` (e.g. `"shift/first"`).
#[track_caller]
fn check_policy(tz: &str, expression: &str, policies: &str, after: &str, expected: &[&str]) {
    let (gap, overlap) = policies.split_once('/').expect("gap/overlap");
    let schedule = compiled(Trigger::Cron(expression.into()), tz, |spec| {
        spec.dst_gap = DstGapPolicy::from_name(gap).expect("a gap policy");
        spec.dst_overlap = DstOverlapPolicy::from_name(overlap).expect("an overlap policy");
    });
    check(&schedule, after, expected);
}

const ALL_POLICIES: [&str; 6] = [
    "shift/first",
    "shift/last",
    "shift/both",
    "skip/first",
    "skip/last",
    "skip/both",
];

#[test]
fn new_york_spring_forward() {
    let after = "2026-03-07T12:00:00Z";
    for policies in ["shift/first", "shift/last", "shift/both"] {
        check_policy(
            "America/New_York",
            "30 2 * * *",
            policies,
            after,
            &["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        );
    }
    check_policy(
        "America/New_York",
        "30 2 * * *",
        "skip/first",
        after,
        &["2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"],
    );
    // Several skipped appointments shift onto one fire, which 03:00 itself joins.
    for expression in ["*/15 2 * * *", "0,30 2 * * *", "0 2,3 * * *"] {
        check_policy(
            "America/New_York",
            expression,
            "shift/first",
            after,
            &["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"],
        );
    }
    check_policy(
        "America/New_York",
        "*/15 2 * * *",
        "skip/first",
        after,
        &["2026-03-09T02:00:00-04:00", "2026-03-09T02:15:00-04:00"],
    );
    for policies in ["shift/first", "skip/first"] {
        check_policy(
            "America/New_York",
            "0 1-3 * * *",
            policies,
            "2026-03-08T05:30:00Z",
            &[
                "2026-03-08T01:00:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T01:00:00-04:00",
            ],
        );
    }
}

#[test]
fn new_york_fall_back() {
    let after = "2026-10-31T12:00:00Z";
    let cases: [(&str, &[&str]); 3] = [
        (
            "first",
            &["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "last",
            &["2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "both",
            &[
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-02T01:30:00-05:00",
            ],
        ),
    ];
    for (overlap, expected) in cases {
        check_policy(
            "America/New_York",
            "30 1 * * *",
            &format!("shift/{overlap}"),
            after,
            expected,
        );
    }
    let after = "2026-11-01T04:30:00Z";
    let cases: [(&str, &[&str]); 3] = [
        (
            "first",
            &[
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:30:00-04:00",
                "2026-11-02T01:00:00-05:00",
            ],
        ),
        (
            "last",
            &[
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-02T01:00:00-05:00",
            ],
        ),
        (
            "both",
            &[
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-02T01:00:00-05:00",
            ],
        ),
    ];
    for (overlap, expected) in cases {
        check_policy(
            "America/New_York",
            "*/30 1 * * *",
            &format!("skip/{overlap}"),
            after,
            expected,
        );
    }
    check_policy(
        "America/New_York",
        "0 1-3 * * *",
        "shift/first",
        after,
        &[
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T02:00:00-05:00",
            "2026-11-01T03:00:00-05:00",
        ],
    );
}

#[test]
fn hourly_fires_once_per_real_hour_whatever_the_policy() {
    for policies in ALL_POLICIES {
        check_policy(
            "America/New_York",
            "0 * * * *",
            policies,
            "2026-03-08T04:30:00Z",
            &[
                "2026-03-08T00:00:00-05:00",
                "2026-03-08T01:00:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-08T04:00:00-04:00",
            ],
        );
        check_policy(
            "America/New_York",
            "0 * * * *",
            policies,
            "2026-11-01T03:30:00Z",
            &[
                "2026-11-01T00:00:00-04:00",
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T02:00:00-05:00",
                "2026-11-01T03:00:00-05:00",
            ],
        );
        check_policy(
            "Europe/London",
            "@hourly",
            policies,
            "2026-03-28T23:30:00Z",
            &[
                "2026-03-29T00:00:00+00:00",
                "2026-03-29T02:00:00+01:00",
                "2026-03-29T03:00:00+01:00",
            ],
        );
        check_policy(
            "Europe/London",
            "0 * * * *",
            policies,
            "2026-10-24T23:30:00Z",
            &[
                "2026-10-25T01:00:00+01:00",
                "2026-10-25T01:00:00+00:00",
                "2026-10-25T02:00:00+00:00",
            ],
        );
    }
    // Every real hour of both transition days fires exactly once.
    let hourly = super::fire_tests::cron("0 * * * *", "America/New_York");
    let spring_day = hourly.fires_between(
        utc("2026-03-08T00:00:00-05:00"),
        utc("2026-03-09T00:00:00-04:00"),
        100,
    );
    assert_eq!(spring_day.len(), 23);
    let fall_day = hourly.fires_between(
        utc("2026-11-01T00:00:00-04:00"),
        utc("2026-11-02T00:00:00-05:00"),
        100,
    );
    assert_eq!(fall_day.len(), 25);
    for day in [spring_day, fall_day] {
        for pair in day.windows(2) {
            assert_eq!((pair[1] - pair[0]).num_minutes(), 60, "{pair:?}");
        }
    }
}

#[test]
fn london_both_transitions() {
    check_policy(
        "Europe/London",
        "30 1 * * *",
        "shift/first",
        "2026-03-28T12:00:00Z",
        &["2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"],
    );
    check_policy(
        "Europe/London",
        "30 1 * * *",
        "skip/first",
        "2026-03-28T12:00:00Z",
        &["2026-03-30T01:30:00+01:00", "2026-03-31T01:30:00+01:00"],
    );
    let after = "2026-10-24T12:00:00Z";
    check_policy(
        "Europe/London",
        "30 1 * * *",
        "shift/first",
        after,
        &["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"],
    );
    check_policy(
        "Europe/London",
        "30 1 * * *",
        "shift/last",
        after,
        &["2026-10-25T01:30:00+00:00", "2026-10-26T01:30:00+00:00"],
    );
    check_policy(
        "Europe/London",
        "30 1 * * *",
        "skip/both",
        after,
        &[
            "2026-10-25T01:30:00+01:00",
            "2026-10-25T01:30:00+00:00",
            "2026-10-26T01:30:00+00:00",
        ],
    );
}

#[test]
fn lord_howe_half_hour_shift() {
    let spring = "2026-10-03T12:00:00Z";
    for expression in ["15 2 * * *", "0 2 * * *"] {
        let next_day = if expression.starts_with("15") {
            "2026-10-05T02:15:00+11:00"
        } else {
            "2026-10-05T02:00:00+11:00"
        };
        check_policy(
            "Australia/Lord_Howe",
            expression,
            "shift/first",
            spring,
            &["2026-10-04T02:30:00+11:00", next_day],
        );
        check_policy(
            "Australia/Lord_Howe",
            expression,
            "skip/first",
            spring,
            &[next_day],
        );
    }
    for policies in ALL_POLICIES {
        // 02:45 exists on the spring day: no policy touches it.
        check_policy(
            "Australia/Lord_Howe",
            "45 2 * * *",
            policies,
            spring,
            &["2026-10-04T02:45:00+11:00"],
        );
        // 01:15 is before the repeated half hour of the fall day.
        check_policy(
            "Australia/Lord_Howe",
            "15 1 * * *",
            policies,
            "2026-04-04T12:00:00Z",
            &["2026-04-05T01:15:00+11:00", "2026-04-06T01:15:00+10:30"],
        );
        // Periodic expressions keep the real clock's rhythm.
        check_policy(
            "Australia/Lord_Howe",
            "0 * * * *",
            policies,
            "2026-10-03T13:00:00Z",
            &[
                "2026-10-04T00:00:00+10:30",
                "2026-10-04T01:00:00+10:30",
                "2026-10-04T03:00:00+11:00",
            ],
        );
        check_policy(
            "Australia/Lord_Howe",
            "*/30 * * * *",
            policies,
            "2026-04-04T13:45:00Z",
            &[
                "2026-04-05T01:00:00+11:00",
                "2026-04-05T01:30:00+11:00",
                "2026-04-05T01:30:00+10:30",
                "2026-04-05T02:00:00+10:30",
            ],
        );
    }
    let fall = "2026-04-04T12:00:00Z";
    let cases: [(&str, &[&str]); 3] = [
        (
            "first",
            &["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
        ),
        (
            "last",
            &["2026-04-05T01:45:00+10:30", "2026-04-06T01:45:00+10:30"],
        ),
        (
            "both",
            &[
                "2026-04-05T01:45:00+11:00",
                "2026-04-05T01:45:00+10:30",
                "2026-04-06T01:45:00+10:30",
            ],
        ),
    ];
    for (overlap, expected) in cases {
        check_policy(
            "Australia/Lord_Howe",
            "45 1 * * *",
            &format!("shift/{overlap}"),
            fall,
            expected,
        );
    }
}

#[test]
fn shanghai_has_no_transition_to_handle() {
    for policies in ALL_POLICIES {
        check_policy(
            "Asia/Shanghai",
            "30 2 * * *",
            policies,
            "2026-03-07T12:00:00Z",
            &["2026-03-08T02:30:00+08:00", "2026-03-09T02:30:00+08:00"],
        );
        check_policy(
            "Asia/Shanghai",
            "30 1 * * *",
            policies,
            "2026-10-31T12:00:00Z",
            &["2026-11-01T01:30:00+08:00", "2026-11-02T01:30:00+08:00"],
        );
    }
    let hourly = super::fire_tests::cron("0 * * * *", "Asia/Shanghai");
    for day in ["2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"] {
        let start = utc(&format!("{day}T00:00:00+08:00"));
        let fires = hourly.fires_between(start, start + chrono::TimeDelta::days(1), 100);
        assert_eq!(fires.len(), 24, "{day}");
    }
}

#[test]
fn a_skipped_midnight_shifts_a_daily_job() {
    // Cuba springs forward at midnight and falls back from 01:00 to midnight.
    check_policy(
        "America/Havana",
        "@daily",
        "shift/first",
        "2026-03-07T12:00:00Z",
        &["2026-03-08T01:00:00-04:00", "2026-03-09T00:00:00-04:00"],
    );
    check_policy(
        "America/Havana",
        "@daily",
        "skip/first",
        "2026-03-07T12:00:00Z",
        &["2026-03-09T00:00:00-04:00"],
    );
    check_policy(
        "America/Havana",
        "@daily",
        "shift/last",
        "2026-10-31T12:00:00Z",
        &["2026-11-01T00:00:00-05:00", "2026-11-02T00:00:00-05:00"],
    );
}

#[test]
fn every_ignores_the_wall_clock() {
    let hourly = compiled(
        Trigger::Every("1h".parse().expect("a duration")),
        "America/New_York",
        |_| {},
    );
    check(
        &hourly,
        "2026-11-01T03:30:00Z",
        &[
            "2026-11-01T00:00:00-04:00",
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T02:00:00-05:00",
        ],
    );
    let daily = compiled(
        Trigger::Every("1d".parse().expect("a duration")),
        "America/New_York",
        |spec| spec.start = Some(utc("2026-03-07T12:00:00-05:00")),
    );
    check(
        &daily,
        "2026-03-01T00:00:00Z",
        &[
            "2026-03-07T12:00:00-05:00",
            "2026-03-08T13:00:00-04:00",
            "2026-03-09T13:00:00-04:00",
        ],
    );
}

#[test]
fn previous_before_sees_shifted_and_repeated_fires() {
    let shifted = compiled(
        Trigger::Cron("30 2 * * *".into()),
        "America/New_York",
        |_| {},
    );
    let shift_instant = utc("2026-03-08T03:00:00-04:00");
    assert_eq!(
        shifted.previous_before(shift_instant + chrono::TimeDelta::seconds(1)),
        Some(shift_instant)
    );
    assert_eq!(
        shifted.previous_before(shift_instant),
        Some(utc("2026-03-07T02:30:00-05:00"))
    );
    let last = compiled(
        Trigger::Cron("30 1 * * *".into()),
        "America/New_York",
        |spec| {
            spec.dst_overlap = DstOverlapPolicy::Last;
        },
    );
    assert_eq!(
        last.previous_before(utc("2026-11-01T01:45:00-05:00")),
        Some(utc("2026-11-01T01:30:00-05:00"))
    );
    assert_eq!(
        last.previous_before(utc("2026-11-01T01:45:00-04:00")),
        Some(utc("2026-10-31T01:30:00-04:00"))
    );
}

/// What croner does by itself with zoned times: a fixed built-in rule, not the policy.
#[test]
fn croner_on_its_own_shifts_only_single_time_expressions() {
    let ny = zone("America/New_York");
    let fires = |expression: &str, from: DateTime<chrono_tz::Tz>, count: usize| -> Vec<String> {
        Cron::from_str(expression)
            .expect("valid")
            .iter_after(from)
            .take(count)
            .map(|fire| fire.to_rfc3339())
            .collect()
    };
    let spring = ny
        .with_ymd_and_hms(2026, 3, 7, 23, 0, 0)
        .single()
        .expect("a time");
    let fall = ny
        .with_ymd_and_hms(2026, 10, 31, 23, 0, 0)
        .single()
        .expect("a time");
    // A single time shifts out of the gap and fires at the first occurrence.
    assert_eq!(
        fires("30 2 * * *", spring, 1),
        ["2026-03-08T03:00:00-04:00"]
    );
    assert_eq!(fires("30 1 * * *", fall, 1), ["2026-11-01T01:30:00-04:00"]);
    // Two times in the gap: the whole day is skipped (our `shift` fires at 03:00).
    assert_eq!(
        fires("0,30 2 * * *", spring, 1),
        ["2026-03-09T02:00:00-04:00"]
    );
    // Two times in the overlap: both occurrences fire (our `first` fires once each).
    assert_eq!(
        fires("*/30 1 * * *", fall, 4),
        [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:30:00-05:00",
        ]
    );
}

/// The fires in `[from, to)` by the definition, minute by minute: an instant fires
/// when its wall-clock reading matches (unless the overlap policy drops that
/// occurrence), or when it ends a gap whose skipped readings match under `shift`.
fn fires_by_definition(
    expression: &str,
    tz: chrono_tz::Tz,
    (gap, overlap): (DstGapPolicy, DstOverlapPolicy),
    from: DateTime<chrono::Utc>,
    to: DateTime<chrono::Utc>,
) -> Vec<DateTime<chrono::Utc>> {
    use chrono::{LocalResult, Offset, TimeDelta};
    let cron = Cron::from_str(expression).expect("valid");
    let (gap, overlap) = if cron.pattern.hours.values().len() == 24 {
        (DstGapPolicy::Skip, DstOverlapPolicy::Both)
    } else {
        (gap, overlap)
    };
    let offset = |t: DateTime<chrono::Utc>| {
        TimeDelta::seconds(i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ))
    };
    let matches = |wall: &chrono::NaiveDateTime| cron.is_time_matching(wall).expect("evaluates");
    let mut fires = Vec::new();
    let mut instant = from;
    while instant < to {
        let wall = instant.naive_utc() + offset(instant);
        let mut fires_here = matches(&wall)
            && match tz.from_local_datetime(&wall) {
                LocalResult::Ambiguous(earlier, later) => match overlap {
                    DstOverlapPolicy::First => instant == earlier,
                    DstOverlapPolicy::Last => instant == later,
                    DstOverlapPolicy::Both => true,
                },
                _ => true,
            };
        let before = instant - TimeDelta::seconds(1);
        let jump = offset(instant) - offset(before);
        if gap == DstGapPolicy::Shift && jump > TimeDelta::zero() {
            let mut skipped = instant.naive_utc() + offset(before);
            let gap_end = wall;
            while skipped < gap_end {
                fires_here |= matches(&skipped);
                skipped += TimeDelta::minutes(1);
            }
        }
        if fires_here {
            fires.push(instant);
        }
        instant += TimeDelta::minutes(1);
    }
    fires
}

#[test]
fn fires_match_the_definition_minute_by_minute() {
    let transitions = [
        ("America/New_York", "2026-03-08T07:00:00Z"),
        ("America/New_York", "2026-11-01T06:00:00Z"),
        ("Europe/London", "2026-03-29T01:00:00Z"),
        ("Europe/London", "2026-10-25T01:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-04T15:00:00Z"),
        ("Australia/Lord_Howe", "2026-10-03T15:30:00Z"),
        ("America/Havana", "2026-03-08T05:00:00Z"),
        ("Asia/Shanghai", "2026-03-08T07:00:00Z"),
    ];
    let expressions = [
        "*/15 * * * *",
        "0 * * * *",
        "30 * * * *",
        "*/10 1-2 * * *",
        "0,30 2 * * *",
        "45 1 * * *",
        "15 2 * * *",
        "0 0 * * *",
        "0 1-3 * * *",
    ];
    for (tz_name, transition) in transitions {
        let tz = zone(tz_name);
        let from = utc(transition) - chrono::TimeDelta::hours(5);
        let to = utc(transition) + chrono::TimeDelta::hours(5);
        for expression in expressions {
            for gap in [DstGapPolicy::Shift, DstGapPolicy::Skip] {
                for overlap in [
                    DstOverlapPolicy::First,
                    DstOverlapPolicy::Last,
                    DstOverlapPolicy::Both,
                ] {
                    let schedule = compiled(Trigger::Cron(expression.into()), tz_name, |spec| {
                        spec.dst_gap = gap;
                        spec.dst_overlap = overlap;
                    });
                    let actual = schedule.fires_between(
                        from - chrono::TimeDelta::seconds(1),
                        to - chrono::TimeDelta::seconds(1),
                        1000,
                    );
                    let expected = fires_by_definition(expression, tz, (gap, overlap), from, to);
                    assert_eq!(
                        actual, expected,
                        "{expression} in {tz_name} around {transition} ({gap:?}, {overlap:?})"
                    );
                }
            }
        }
    }
}
