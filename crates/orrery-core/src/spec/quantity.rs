//! Resource amounts as people write them: memory sizes ("1Gi", "512M") and CPU ("2", "0.5", "500m").

/// Binary memory units, smallest first.
const BINARY_UNITS: [(&str, u64); 6] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
];

/// Decimal memory units, smallest first.
const DECIMAL_UNITS: [(&str, u64); 6] = [
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// Most digits read before the point (after leading zeros); more exceed any `u64`.
const MAX_WHOLE_DIGITS: usize = 20;

/// Most digits read after the point (before trailing zeros); with
/// [`MAX_WHOLE_DIGITS`], every number read fits in `u128`. Finer amounts are refused:
/// no unit makes them whole bytes or millicores except in contrived cases.
const MAX_FRACTION_DIGITS: usize = 18;

/// Reads a memory size: a plain number of bytes (`"1048576"`) or a number with a unit,
/// binary (`"64Mi"`, `"1Gi"`, `"1.5Gi"`, `"1024Ki"`) or decimal (`"512M"`, `"2G"`).
/// Zero is accepted; whether it means anything is the caller's business.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let unit_start = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_start);
    let malformed = || {
        format!(
            "invalid memory size {text:?}: write a number of bytes, or a number with a unit \
             such as \"512Mi\" or \"2G\""
        )
    };
    let amount = match Decimal::parse(number) {
        Ok(amount) => amount,
        Err(DecimalError::Malformed) => return Err(malformed()),
        Err(DecimalError::TooLarge) => return Err(format!("{text:?} is too large")),
        Err(DecimalError::TooPrecise) => return Err(not_whole_bytes(text)),
    };
    let unit_bytes = if unit.is_empty() {
        1
    } else {
        match BINARY_UNITS
            .iter()
            .chain(&DECIMAL_UNITS)
            .find(|(name, _)| *name == unit)
        {
            Some((_, bytes)) => *bytes,
            None => return Err(unknown_unit_message(text, unit)),
        }
    };
    match amount.times(u128::from(unit_bytes)) {
        Scaled::Whole(bytes) => u64::try_from(bytes).map_err(|_| format!("{text:?} is too large")),
        Scaled::Fractional => Err(not_whole_bytes(text)),
        Scaled::TooLarge => Err(format!("{text:?} is too large")),
    }
}

fn not_whole_bytes(text: &str) -> String {
    format!("{text:?} is not a whole number of bytes")
}

fn unknown_unit_message(text: &str, unit: &str) -> String {
    let names = |units: &[(&'static str, u64)]| {
        units
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    // A unit in the wrong case or with a byte suffix ("gi", "GiB", "MB") is most likely
    // the unit without it.
    let bare = unit.trim();
    let bare = match bare.strip_suffix(['B', 'b']) {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => bare,
    };
    let hint = BINARY_UNITS
        .iter()
        .chain(&DECIMAL_UNITS)
        .find(|(name, _)| name.eq_ignore_ascii_case(bare))
        .map(|(name, _)| format!(", did you mean {name:?}?"))
        .unwrap_or_default();
    format!(
        "unknown unit {unit:?} in {text:?} (use {} for powers of 1024 or {} for powers of \
         1000; a plain number is bytes){hint}",
        names(&BINARY_UNITS),
        names(&DECIMAL_UNITS),
    )
}

/// Reads a CPU amount in millicores: cores as a plain number (`"2"` → 2000, `"0.5"` →
/// 500) or millicores with an `m` (`"500m"`). Amounts finer than one millicore are
/// refused. Zero is accepted; whether it means anything is the caller's business.
pub fn parse_cpu_millis(text: &str) -> Result<u32, String> {
    let (number, millis_per_unit) = match text.strip_suffix('m') {
        Some(millicores) => (millicores, 1),
        None => (text, 1000),
    };
    let amount = match Decimal::parse(number) {
        Ok(amount) => amount,
        Err(DecimalError::Malformed) => {
            return Err(format!(
                "invalid CPU amount {text:?}: write cores (\"2\", \"0.5\") or millicores \
                 (\"500m\")"
            ));
        }
        Err(DecimalError::TooLarge) => return Err(format!("{text:?} is too large")),
        Err(DecimalError::TooPrecise) => return Err(finer_than_millicore(text)),
    };
    match amount.times(millis_per_unit) {
        Scaled::Whole(millis) => {
            u32::try_from(millis).map_err(|_| format!("{text:?} is too large"))
        }
        Scaled::Fractional => Err(finer_than_millicore(text)),
        Scaled::TooLarge => Err(format!("{text:?} is too large")),
    }
}

fn finer_than_millicore(text: &str) -> String {
    format!("{text:?} is finer than one millicore (0.001 cores, \"1m\")")
}

/// A memory size for people, in binary units: `"512"`, `"64Mi"`, `"1Gi"`; a size that is
/// not a whole number of its unit gets one decimal, rounded (`"1.5Gi"`).
pub fn format_bytes(bytes: u64) -> String {
    let Some(unit_idx) = BINARY_UNITS.iter().rposition(|(_, size)| bytes >= *size) else {
        return bytes.to_string();
    };
    let (name, size) = BINARY_UNITS[unit_idx];
    if bytes.is_multiple_of(size) {
        return format!("{}{name}", bytes / size);
    }
    let size = u128::from(size);
    let tenths = (u128::from(bytes) * 10 + size / 2) / size;
    // 1023.96Mi rounds to 1024.0Mi, which reads better as the next unit.
    if tenths >= 1024 * 10
        && let Some((next_name, _)) = BINARY_UNITS.get(unit_idx + 1)
    {
        return format!("1.0{next_name}");
    }
    format!("{}.{}{name}", tenths / 10, tenths % 10)
}

/// A non-negative decimal written without sign or exponent: `digits / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decimal {
    digits: u128,
    scale: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum DecimalError {
    /// Not digits with at most one `.` between digits.
    Malformed,
    /// More digits before the point than [`MAX_WHOLE_DIGITS`].
    TooLarge,
    /// More digits after the point than [`MAX_FRACTION_DIGITS`].
    TooPrecise,
}

/// A decimal multiplied by a whole factor.
#[derive(Debug, PartialEq, Eq)]
enum Scaled {
    Whole(u128),
    Fractional,
    TooLarge,
}

impl Decimal {
    /// `"12"`, `"0.5"`, `"1.250"`; not `".5"`, `"5."`, `"-1"` or `"1e3"`.
    fn parse(text: &str) -> Result<Decimal, DecimalError> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty()
            || (text.contains('.') && fraction.is_empty())
            || !all_digits(whole)
            || !all_digits(fraction)
        {
            return Err(DecimalError::Malformed);
        }
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        if whole.len() > MAX_WHOLE_DIGITS {
            return Err(DecimalError::TooLarge);
        }
        if fraction.len() > MAX_FRACTION_DIGITS {
            return Err(DecimalError::TooPrecise);
        }
        // At most 38 digits, below u128::MAX (about 3.4 × 10^38).
        let mut digits: u128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            digits = digits * 10 + u128::from(digit - b'0');
        }
        Ok(Decimal {
            digits,
            scale: u32::try_from(fraction.len()).unwrap_or(u32::MAX),
        })
    }

    fn times(self, factor: u128) -> Scaled {
        let Some(product) = self.digits.checked_mul(factor) else {
            return Scaled::TooLarge;
        };
        let Some(divisor) = 10u128.checked_pow(self.scale) else {
            return Scaled::Fractional;
        };
        if product.is_multiple_of(divisor) {
            Scaled::Whole(product / divisor)
        } else {
            Scaled::Fractional
        }
    }
}

#[cfg(test)]
#[path = "quantity_tests.rs"]
mod tests;
