//! Human durations as written in specs (`500ms`, `30s`, `10m`, `2h`, `1d`, `1h30m`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration that serializes as its canonical human form (`"1h30m"`).
///
/// The granularity is one millisecond: sub-millisecond parts of a value built by hand
/// are not shown by `Display` (and so do not survive serialization).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumanDuration(pub Duration);

/// Why a duration string was rejected; displays as
/// `invalid duration "10x": unknown unit "x" (use ms, s, m, h, d)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    input: String,
    reason: String,
}

const UNITS_HINT: &str = "use ms, s, m, h, d";

/// Units from largest to smallest with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl HumanDuration {
    /// The duration as a std `Duration`.
    pub fn as_std(&self) -> Duration {
        self.0
    }

    /// Whether the duration is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl From<Duration> for HumanDuration {
    fn from(duration: Duration) -> Self {
        HumanDuration(duration)
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse_millis(input)
            .map(|millis| HumanDuration(Duration::from_millis(millis)))
            .map_err(|reason| DurationError {
                input: input.to_owned(),
                reason,
            })
    }
}

/// Parses a sequence of `<digits><unit>` segments into milliseconds.
fn parse_millis(input: &str) -> Result<u64, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(format!(
            "empty duration ({UNITS_HINT}, e.g. \"30s\" or \"1h30m\")"
        ));
    }
    if text.starts_with('-') {
        return Err("durations cannot be negative".to_owned());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after_digits) = rest.split_at(digits_end);
        if digits.is_empty() {
            return Err(format!("expected a number before {after_digits:?}"));
        }
        let unit_end = after_digits
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after_digits.len());
        let (unit, after_unit) = after_digits.split_at(unit_end);
        let unit_millis = match unit {
            "" => return Err(format!("missing unit after {digits:?} ({UNITS_HINT})")),
            "." | "," => {
                return Err("use whole numbers of a unit (\"1h30m\" rather than \"1.5h\")".into());
            }
            _ => UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, millis)| *millis)
                .ok_or_else(|| format!("unknown unit {unit:?} ({UNITS_HINT})"))?,
        };
        let too_large = || "too large".to_owned();
        let amount: u64 = digits.parse().map_err(|_| too_large())?;
        let millis = amount.checked_mul(unit_millis).ok_or_else(too_large)?;
        total = total.checked_add(millis).ok_or_else(too_large)?;
        rest = after_unit;
    }
    Ok(total)
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut millis = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return f.write_str("0s");
        }
        for (name, unit_millis) in UNITS {
            let amount = millis / unit_millis;
            if amount > 0 {
                write!(f, "{amount}{name}")?;
                millis %= unit_millis;
            }
        }
        Ok(())
    }
}

impl TryFrom<String> for HumanDuration {
    type Error = DurationError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<HumanDuration> for String {
    fn from(duration: HumanDuration) -> Self {
        duration.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(text: &str) -> Result<u128, String> {
        text.parse::<HumanDuration>()
            .map(|d| d.as_std().as_millis())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn parses_each_unit_and_combinations() {
        let cases: &[(&str, u128)] = &[
            ("500ms", 500),
            ("30s", 30_000),
            ("10m", 600_000),
            ("2h", 7_200_000),
            ("1d", 86_400_000),
            ("1h30m", 5_400_000),
            ("1m500ms", 60_500),
            ("1d2h3m4s5ms", 93_784_005),
            ("0s", 0),
            ("90m", 5_400_000),
            (" 5s ", 5_000),
        ];
        for (text, expected) in cases {
            assert_eq!(millis(text), Ok(*expected), "{text}");
        }
    }

    #[test]
    fn rejects_bad_input_with_a_clear_message() {
        let cases: &[(&str, &str)] = &[
            (
                "10x",
                r#"invalid duration "10x": unknown unit "x" (use ms, s, m, h, d)"#,
            ),
            (
                "",
                r#"invalid duration "": empty duration (use ms, s, m, h, d, e.g. "30s" or "1h30m")"#,
            ),
            (
                "-5s",
                r#"invalid duration "-5s": durations cannot be negative"#,
            ),
            (
                "10",
                r#"invalid duration "10": missing unit after "10" (use ms, s, m, h, d)"#,
            ),
            ("h", r#"invalid duration "h": expected a number before "h""#),
            (
                "1.5h",
                r#"invalid duration "1.5h": use whole numbers of a unit ("1h30m" rather than "1.5h")"#,
            ),
            (
                "99999999999999999999s",
                r#"invalid duration "99999999999999999999s": too large"#,
            ),
            (
                "9999999999999999d",
                r#"invalid duration "9999999999999999d": too large"#,
            ),
            (
                "1h 30m",
                r#"invalid duration "1h 30m": unknown unit "h " (use ms, s, m, h, d)"#,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(millis(text), Err((*expected).to_owned()), "{text}");
        }
    }

    #[test]
    fn displays_the_canonical_compact_form() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (500, "500ms"),
            (30_000, "30s"),
            (5_400_000, "1h30m"),
            (86_400_000 + 1, "1d1ms"),
            (7_200_000, "2h"),
        ];
        for (ms, expected) in cases {
            assert_eq!(
                HumanDuration(Duration::from_millis(*ms)).to_string(),
                *expected
            );
        }
        assert_eq!(millis("90m").map(|_| ()), Ok(()));
        assert_eq!(
            "90m".parse::<HumanDuration>().map(|d| d.to_string()),
            Ok("1h30m".to_owned())
        );
    }

    #[test]
    fn serializes_as_the_human_string() {
        let duration: HumanDuration = serde_json::from_str("\"1h30m\"").expect("valid");
        assert_eq!(duration.as_std(), Duration::from_secs(5_400));
        assert_eq!(
            serde_json::to_string(&duration).expect("serializes"),
            "\"1h30m\""
        );
        let error = serde_json::from_str::<HumanDuration>("\"5y\"").expect_err("invalid");
        assert!(error.to_string().contains("unknown unit \"y\""), "{error}");
    }
}
