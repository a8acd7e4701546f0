//! Checking cron expressions: what is accepted and the message for each mistake.

use super::cron::{CronField, parse_cron};

/// Parses `expression` and compares the outcome with `expected`: `Ok(())` or the
/// exact message.
#[track_caller]
fn check(expression: &str, expected: Result<(), &str>) {
    let actual = parse_cron(expression)
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        actual,
        expected.map_err(str::to_owned),
        "expression: {expression:?}"
    );
}

#[test]
fn accepts_the_documented_syntax() {
    for expression in [
        "* * * * *",
        "*/15 9-17 * * MON-FRI",
        "0 30 2 * * *",
        "0 0 12 1 1 * 2027",
        "0 0 12 1 1 ? 2027-2030/2",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@DAILY",
        "0 0 L * *",
        "0 0 LW * *",
        "0 0 15W * *",
        "0 0 * * 5L",
        "0 0 * * FRIL",
        "0 0 * * 5#2",
        "0 0 * * fri#5",
        "0 0 ? * 1",
        "0 0 1 * ?",
        "0 0 1,15,L * *",
        "0 0 * JAN,jul *",
        "0 0 * * FRI-SUN",
        "0 0 * * 7",
        "0/15 * * * *",
        "5-55/10 * * * *",
        "  0   0  *  * *  ",
        "0 0 29 2 *",
    ] {
        check(expression, Ok(()));
    }
}

#[test]
fn names_the_field_and_the_reason() {
    let cases: &[(&str, &str)] = &[
        ("0 0 32 * *", "day-of-month 32 out of range 1-31"),
        ("60 * * * *", "minute 60 out of range 0-59"),
        ("0 24 * * *", "hour 24 out of range 0-23"),
        ("0 0 * 13 *", "month 13 out of range 1-12"),
        ("0 0 * * 8", "day-of-week 8 out of range 0-7"),
        ("61 0 0 * * *", "second 61 out of range 0-59"),
        ("0 0 0 1 1 * 1969", "year 1969 out of range 1970-2199"),
        ("0 0 0 * *", "day-of-month 0 out of range 1-31"),
        (
            "0 0 99999999999 * *",
            "day-of-month 99999999999 out of range 1-31",
        ),
        (
            "0 22-2 * * *",
            "hour range 22-2 runs backwards (its start is after its end)",
        ),
        ("*/0 * * * *", "minute step must be at least 1"),
        (
            "*/90 * * * *",
            "minute step 90 does not fit in the range 0-59 (cron cannot count across it; use \
             `every:` for a fixed rate)",
        ),
        ("*/x * * * *", "minute step \"x\" is not a number"),
        (
            "/5 * * * *",
            "minute step \"/5\" needs a start: write */5 or a-b/5",
        ),
        ("x * * * *", "minute value \"x\" is not a number"),
        (
            "0 0 * FOO *",
            "month value \"FOO\" is not a number or a name (JAN-DEC)",
        ),
        (
            "0 0 * * MONDAY",
            "day-of-week value \"MONDAY\" is not a number or a name (SUN-SAT)",
        ),
        ("0 MON * * *", "hour value \"MON\" is not a number"),
        ("0 0 * * 5#6", "day-of-week occurrence #6 out of range 1-5"),
        ("0 0 * * 5#0", "day-of-week occurrence #0 out of range 1-5"),
        (
            "0 0 * * L",
            "day-of-week L needs a weekday: write 5L or FRIL for the last Friday of the month",
        ),
        (
            "0 0 L-2 * *",
            "day-of-month \"L-2\" is not supported: use L (last day) or LW (last weekday)",
        ),
        ("0 0 32W * *", "day-of-month 32 out of range 1-31"),
        (
            "? 0 * * *",
            "minute \"?\" is only allowed in day-of-month and day-of-week",
        ),
        (
            "0 0 1,,2 * *",
            "day-of-month \"1,,2\" has an empty list item",
        ),
        (
            "0 0 1-2-3 * *",
            "day-of-month \"1-2-3\" is not a range (write a-b)",
        ),
        (
            "* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week), 6 (a second first) \
             or 7 (and a year last), found 4",
        ),
        (
            "* * * * * * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week), 6 (a second first) \
             or 7 (and a year last), found 8",
        ),
        ("", "the expression is empty"),
        (
            "@dayly",
            "unknown shorthand \"@dayly\", did you mean \"@daily\"?",
        ),
        (
            "@reboot",
            "unknown shorthand \"@reboot\" (expected one of: @yearly, @annually, @monthly, \
             @weekly, @daily, @midnight, @hourly)",
        ),
        (
            "0 0 30 2 *",
            "never matches: no date satisfies the day-of-month, month, day-of-week and year \
             fields together (for example February 30)",
        ),
    ];
    for (expression, message) in cases {
        check(expression, Err(message));
    }
}

#[test]
fn reports_the_field_as_data() {
    let error = parse_cron("0 0 32 * *").expect_err("invalid");
    assert_eq!(error.field, Some(CronField::DayOfMonth));
    let error = parse_cron("* * *").expect_err("invalid");
    assert_eq!(error.field, None);
}

#[test]
fn knows_which_expressions_match_every_hour() {
    let cases = [
        ("0 * * * *", true),
        ("@hourly", true),
        ("*/5 * * * *", true),
        ("0 0-23 * * *", true),
        ("*/10 * * * * *", true),
        ("30 2 * * *", false),
        ("0 */2 * * *", false),
        ("0 0-22 * * *", false),
        ("@daily", false),
    ];
    for (expression, expected) in cases {
        let expr = parse_cron(expression).expect("valid");
        assert_eq!(expr.matches_every_hour(), expected, "{expression}");
    }
}
