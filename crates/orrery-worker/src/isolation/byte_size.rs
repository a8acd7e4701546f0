//! Memory sizes in binary units (`64Mi`, `64.0Mi`) for messages people read.

/// Binary unit suffixes, each 1024 times the previous.
const UNITS: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// A configured size in the largest unit not above it: an integer when exact (`64Mi`),
/// one decimal otherwise (`95.4Mi`); below 1 KiB in bytes (`512B`).
pub(crate) fn format_limit(bytes: u64) -> String {
    match largest_unit(bytes) {
        None => format!("{bytes}B"),
        Some((unit, size)) if bytes.is_multiple_of(size) => format!("{}{unit}", bytes / size),
        Some((unit, size)) => format!("{:.1}{unit}", bytes as f64 / size as f64),
    }
}

/// A measured size: always one decimal in the largest unit that fits (`64.0Mi`); below
/// 1 KiB in bytes.
pub(crate) fn format_measured(bytes: u64) -> String {
    match largest_unit(bytes) {
        None => format!("{bytes}B"),
        Some((unit, size)) => format!("{:.1}{unit}", bytes as f64 / size as f64),
    }
}

/// The largest unit not above `bytes`, with its size in bytes.
fn largest_unit(bytes: u64) -> Option<(&'static str, u64)> {
    let mut found = None;
    let mut size: u64 = 1;
    for unit in UNITS {
        size = size.saturating_mul(1024);
        if bytes < size {
            break;
        }
        found = Some((unit, size));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_exact_when_they_can_be_and_measurements_have_one_decimal() {
        let check = |bytes: u64, limit: &str, measured: &str| {
            assert_eq!(format_limit(bytes), limit, "limit of {bytes}");
            assert_eq!(format_measured(bytes), measured, "measurement of {bytes}");
        };
        check(0, "0B", "0B");
        check(1023, "1023B", "1023B");
        check(1024, "1Ki", "1.0Ki");
        check(1536, "1.5Ki", "1.5Ki");
        check(64 << 20, "64Mi", "64.0Mi");
        check((64 << 20) - 4096, "64.0Mi", "64.0Mi");
        check(100_000_000, "95.4Mi", "95.4Mi");
        check(3 << 30, "3Gi", "3.0Gi");
        check(1 << 40, "1Ti", "1.0Ti");
        check(u64::MAX, "16.0Ei", "16.0Ei");
    }
}
