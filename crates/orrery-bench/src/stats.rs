//! Order statistics over small samples of milliseconds.

use chrono::TimeDelta;
use std::time::Duration;

/// The median; the mean of the middle two for an even count; NaN when empty.
pub(crate) fn median(samples: &[f64]) -> f64 {
    let sorted = sorted(samples);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile (`percent` in 0..=100); NaN when empty.
pub(crate) fn percentile(samples: &[f64], percent: f64) -> f64 {
    let sorted = sorted(samples);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The largest sample; NaN when empty.
pub(crate) fn max(samples: &[f64]) -> f64 {
    samples.iter().copied().fold(f64::NAN, f64::max)
}

fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// A wall-clock duration in milliseconds.
pub(crate) fn duration_ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A difference of two timestamps in milliseconds (negative if they are out of order).
pub(crate) fn delta_ms(delta: TimeDelta) -> f64 {
    match delta.num_microseconds() {
        Some(micros) => micros as f64 / 1000.0,
        None => delta.num_milliseconds() as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&samples, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[1.0, 2.0], 0.0), 1.0);
    }

    #[test]
    fn max_ignores_order() {
        assert_eq!(max(&[1.0, 5.0, 2.0]), 5.0);
        assert!(max(&[]).is_nan());
    }

    #[test]
    fn delta_ms_keeps_microseconds() {
        assert_eq!(delta_ms(TimeDelta::microseconds(1500)), 1.5);
        assert_eq!(delta_ms(TimeDelta::microseconds(-250)), -0.25);
    }
}
