//! Cron expressions: our own field-by-field check, which names the field and the reason
//! of a mistake, in front of croner's parser, which evaluates the expression.
//!
//! Accepted: 5 fields (`minute hour day-of-month month day-of-week`), 6 (a second
//! first) or 7 (and a year last); the shorthands `@yearly @annually @monthly @weekly
//! @daily @midnight @hourly`; in any field `*`, values, ranges `a-b`, steps `*/n`,
//! `a-b/n` and `a/n` (from `a` to the end of the field), lists; names `JAN`–`DEC` and
//! `SUN`–`SAT`; `?` for a whole day field; in day-of-month `L` (last day), `LW` (last
//! weekday), `15W` (weekday nearest the 15th); in day-of-week `5L` (last Friday) and
//! `5#2` (second Friday). Sunday is 0 or 7. When both day fields are restricted a day
//! matching either fires (Vixie cron's rule).

use chrono::NaiveDate;
use croner::Cron;
use croner::parser::CronParser;
use std::fmt;

/// One field of a cron expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CronField {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl CronField {
    /// The field's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
            CronField::Year => "year",
        }
    }

    /// Smallest and largest value of the field.
    fn bounds(self) -> (u32, u32) {
        match self {
            CronField::Second | CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
            CronField::Year => (MIN_YEAR, MAX_YEAR),
        }
    }

    /// Names the field accepts instead of numbers, the first for the field's minimum.
    fn names(self) -> &'static [&'static str] {
        match self {
            CronField::Month => &[
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ],
            CronField::DayOfWeek => &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            _ => &[],
        }
    }
}

/// First year a 7-field expression may name.
pub const MIN_YEAR: u32 = 1970;
/// Last year a 7-field expression may name.
pub const MAX_YEAR: u32 = 2199;

const FIELDS_5: [CronField; 5] = [
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];
const FIELDS_6: [CronField; 6] = [
    CronField::Second,
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];
const FIELDS_7: [CronField; 7] = [
    CronField::Second,
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
    CronField::Year,
];

/// Shorthands and the 5-field expression each stands for.
const SHORTHANDS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// Why a cron expression was rejected. Displays as the reason alone, which names the
/// field when one is at fault: `day-of-month 32 out of range 1-31`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CronError {
    /// The field at fault, when the mistake lies in one field.
    pub field: Option<CronField>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl CronError {
    fn whole(message: impl Into<String>) -> Self {
        CronError {
            field: None,
            message: message.into(),
        }
    }

    fn in_field(field: CronField, message: impl fmt::Display) -> Self {
        CronError {
            field: Some(field),
            message: format!("{} {message}", field.name()),
        }
    }
}

/// A checked cron expression, ready to evaluate on wall-clock times.
#[derive(Clone, Debug)]
pub(crate) struct CronExpr {
    cron: Cron,
    every_hour: bool,
}

impl CronExpr {
    /// The croner expression, evaluated on naive wall-clock times.
    pub(crate) fn cron(&self) -> &Cron {
        &self.cron
    }

    /// Whether the hour field matches all 24 hours (`*`, `0-23`, `@hourly`, …): such an
    /// expression fires by the real clock and the DST policies do not apply to it.
    pub(crate) fn matches_every_hour(&self) -> bool {
        self.every_hour
    }
}

/// Checks a cron expression and prepares it for evaluation.
pub(crate) fn parse_cron(text: &str) -> Result<CronExpr, CronError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CronError::whole("the expression is empty"));
    }
    let expanded = expand_shorthand(text)?;
    let parts: Vec<&str> = expanded.split_whitespace().collect();
    let fields: &[CronField] = match parts.len() {
        5 => &FIELDS_5,
        6 => &FIELDS_6,
        7 => &FIELDS_7,
        n => {
            return Err(CronError::whole(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), 6 (a second \
                 first) or 7 (and a year last), found {n}"
            )));
        }
    };
    let mut normalized: Vec<String> = Vec::with_capacity(7);
    if parts.len() == 5 {
        normalized.push("0".to_owned());
    }
    for (part, field) in parts.iter().zip(fields) {
        normalized.push(normalize_field(*field, part)?);
    }
    if parts.len() < 7 {
        normalized.push("*".to_owned());
    }
    let pattern = normalized.join(" ");
    let cron = CronParser::builder()
        .build()
        .parse(&pattern)
        .map_err(|error| CronError::whole(format!("invalid expression: {error}")))?;
    check_matches_some_date(&cron)?;
    let every_hour = cron.pattern.hours.values().len() == 24;
    Ok(CronExpr { cron, every_hour })
}

/// Replaces a `@shorthand` by its expression.
fn expand_shorthand(text: &str) -> Result<String, CronError> {
    if !text.starts_with('@') {
        return Ok(text.to_owned());
    }
    let lower = text.to_ascii_lowercase();
    if let Some((_, expression)) = SHORTHANDS.iter().find(|(name, _)| *name == lower) {
        return Ok((*expression).to_owned());
    }
    let names: Vec<&str> = SHORTHANDS.iter().map(|(name, _)| *name).collect();
    let hint = crate::spec::suggest_word(&lower, names.iter().copied())
        .map(|close| format!(", did you mean {close:?}?"))
        .unwrap_or_else(|| format!(" (expected one of: {})", names.join(", ")));
    Err(CronError::whole(format!(
        "unknown shorthand {text:?}{hint}"
    )))
}

/// Checks one field and rewrites it for croner: names become numbers, `?` becomes `*`
/// and `a/n` becomes `a-max/n`.
fn normalize_field(field: CronField, text: &str) -> Result<String, CronError> {
    if text == "?" {
        return match field {
            CronField::DayOfMonth | CronField::DayOfWeek => Ok("*".to_owned()),
            _ => Err(CronError::in_field(
                field,
                "\"?\" is only allowed in day-of-month and day-of-week",
            )),
        };
    }
    let mut items = Vec::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(CronError::in_field(
                field,
                format!("{text:?} has an empty list item"),
            ));
        }
        items.push(normalize_item(field, item)?);
    }
    Ok(items.join(","))
}

fn normalize_item(field: CronField, item: &str) -> Result<String, CronError> {
    let (min, max) = field.bounds();
    if item == "*" {
        return Ok("*".to_owned());
    }
    if item == "?" {
        return Err(CronError::in_field(
            field,
            "\"?\" must be the whole field, not part of a list",
        ));
    }
    if let Some((base, step_text)) = item.split_once('/') {
        let step = parse_number(field, step_text, "step")?;
        if step == 0 {
            return Err(CronError::in_field(field, "step must be at least 1"));
        }
        if step > max - min {
            return Err(CronError::in_field(
                field,
                format!(
                    "step {step} does not fit in the range {min}-{max} (cron cannot count \
                     across it; use `every:` for a fixed rate)"
                ),
            ));
        }
        let range = match base {
            "*" => "*".to_owned(),
            "" => {
                return Err(CronError::in_field(
                    field,
                    format!("step {item:?} needs a start: write */{step_text} or a-b/{step_text}"),
                ));
            }
            _ if base.contains('-') => {
                let (start, end) = parse_range(field, base)?;
                format!("{start}-{end}")
            }
            _ => {
                let start = parse_value(field, base, false)?;
                format!("{start}-{}", field.bounds().1)
            }
        };
        return Ok(format!("{range}/{step}"));
    }
    match field {
        CronField::DayOfMonth => {
            if item.eq_ignore_ascii_case("L") || item.eq_ignore_ascii_case("LW") {
                return Ok(item.to_ascii_uppercase());
            }
            if item.len() > 1 && item.starts_with(['L', 'l']) {
                return Err(CronError::in_field(
                    field,
                    format!("{item:?} is not supported: use L (last day) or LW (last weekday)"),
                ));
            }
            if let Some(day) = item.strip_suffix(['W', 'w']) {
                let day = parse_value(field, day, false)?;
                return Ok(format!("{day}W"));
            }
        }
        CronField::DayOfWeek => {
            if item.eq_ignore_ascii_case("L") {
                return Err(CronError::in_field(
                    field,
                    "L needs a weekday: write 5L or FRIL for the last Friday of the month",
                ));
            }
            if let Some((day, nth)) = item.split_once('#') {
                let day = parse_value(field, day, false)?;
                let nth = parse_number(field, nth, "occurrence")?;
                if !(1..=5).contains(&nth) {
                    return Err(CronError::in_field(
                        field,
                        format!("occurrence #{nth} out of range 1-5"),
                    ));
                }
                return Ok(format!("{day}#{nth}"));
            }
            if let Some(day) = item.strip_suffix(['L', 'l']) {
                let day = parse_value(field, day, false)?;
                return Ok(format!("{day}L"));
            }
        }
        _ => {}
    }
    if item.contains('-') {
        let (start, end) = parse_range(field, item)?;
        return Ok(format!("{start}-{end}"));
    }
    parse_value(field, item, false).map(|value| value.to_string())
}

/// Parses `a-b` with `a <= b`.
fn parse_range(field: CronField, text: &str) -> Result<(u32, u32), CronError> {
    let Some((start, end)) = text.split_once('-') else {
        return parse_value(field, text, false).map(|value| (value, value));
    };
    if start.is_empty() || end.is_empty() || end.contains('-') {
        return Err(CronError::in_field(
            field,
            format!("{text:?} is not a range (write a-b)"),
        ));
    }
    let start = parse_value(field, start, false)?;
    let end = parse_value(field, end, true)?;
    if start > end {
        return Err(CronError::in_field(
            field,
            format!("range {text} runs backwards (its start is after its end)"),
        ));
    }
    Ok((start, end))
}

/// Parses a value or a name and checks its range. `Sunday` at the end of a range is 7,
/// so `FRI-SUN` reads as Friday to Sunday.
fn parse_value(field: CronField, text: &str, range_end: bool) -> Result<u32, CronError> {
    let (min, max) = field.bounds();
    let value = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u32>().unwrap_or(u32::MAX)
    } else {
        let names = field.names();
        let upper = text.to_ascii_uppercase();
        match names.iter().position(|name| *name == upper) {
            Some(0) if field == CronField::DayOfWeek && range_end => 7,
            Some(idx) => min + u32::try_from(idx).unwrap_or(0),
            None if names.is_empty() => {
                return Err(CronError::in_field(
                    field,
                    format!("value {text:?} is not a number"),
                ));
            }
            None => {
                let (first, last) = (names[0], names[names.len() - 1]);
                return Err(CronError::in_field(
                    field,
                    format!("value {text:?} is not a number or a name ({first}-{last})"),
                ));
            }
        }
    };
    if value < min || value > max {
        let shown = if value == u32::MAX {
            text.to_owned()
        } else {
            value.to_string()
        };
        return Err(CronError::in_field(
            field,
            format!("{shown} out of range {min}-{max}"),
        ));
    }
    Ok(value)
}

/// Parses the number of a step or an occurrence.
fn parse_number(field: CronField, text: &str, what: &str) -> Result<u32, CronError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CronError::in_field(
            field,
            format!("{what} {text:?} is not a number"),
        ));
    }
    Ok(text.parse::<u32>().unwrap_or(u32::MAX))
}

/// Rejects an expression no date satisfies, such as `0 0 30 2 *` (February 30).
fn check_matches_some_date(cron: &Cron) -> Result<(), CronError> {
    let origin = NaiveDate::from_ymd_opt(i32::try_from(MIN_YEAR).unwrap_or(1970), 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0));
    let Some(origin) = origin else {
        return Ok(());
    };
    match cron.find_next_occurrence(&origin, true) {
        Ok(found) if found.and_utc().timestamp() >= 0 => Ok(()),
        _ => Err(CronError::whole(
            "never matches: no date satisfies the day-of-month, month, day-of-week and year \
             fields together (for example February 30)",
        )),
    }
}
