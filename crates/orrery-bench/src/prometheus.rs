//! The server's `/metrics` text read back into numbers: counters and gauges by name and
//! label, histogram buckets, and differences between two readings.

use std::collections::BTreeMap;

/// One reading of every sample, keyed by the series as written (`name{labels}`).
#[derive(Clone, Debug, Default)]
pub(crate) struct MetricsSnapshot {
    series: BTreeMap<String, f64>,
}

impl MetricsSnapshot {
    /// Parses the Prometheus text format; comments and malformed lines are skipped.
    pub(crate) fn parse(text: &str) -> Self {
        let series = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let (key, value) = line.rsplit_once(' ')?;
                Some((key.trim().to_owned(), value.trim().parse().ok()?))
            })
            .collect();
        Self { series }
    }

    /// The sum over every series of metric `name` whose labels contain `label` (e.g.
    /// `outcome="fired"`; empty matches all); 0 when there is none.
    pub(crate) fn sum(&self, name: &str, label: &str) -> f64 {
        self.series
            .iter()
            .filter(|(key, _)| metric_name(key) == name && key.contains(label))
            .map(|(_, value)| value)
            .sum()
    }

    /// The cumulative bucket counts of histogram `name`, by upper bound, ascending.
    pub(crate) fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let bucket_name = format!("{name}_bucket");
        let mut buckets: Vec<(f64, f64)> = self
            .series
            .iter()
            .filter(|(key, _)| metric_name(key) == bucket_name)
            .filter_map(|(key, value)| Some((upper_bound(key)?, *value)))
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        buckets
    }
}

/// What a histogram counted between two readings of it.
pub(crate) struct HistogramDelta {
    /// (upper bound, cumulative count), ascending.
    buckets: Vec<(f64, f64)>,
}

impl HistogramDelta {
    pub(crate) fn between(before: &MetricsSnapshot, after: &MetricsSnapshot, name: &str) -> Self {
        let earlier: BTreeMap<u64, f64> = before
            .buckets(name)
            .into_iter()
            .map(|(bound, count)| (bound.to_bits(), count))
            .collect();
        let buckets = after
            .buckets(name)
            .into_iter()
            .map(|(bound, count)| {
                let was = earlier.get(&bound.to_bits()).copied().unwrap_or(0.0);
                (bound, count - was)
            })
            .collect();
        Self { buckets }
    }

    /// Observations counted.
    pub(crate) fn count(&self) -> f64 {
        self.buckets.last().map_or(0.0, |(_, count)| *count)
    }

    /// The upper bound of the bucket holding the `percent` percentile; infinite if it is
    /// above the last finite bound, NaN when nothing was counted.
    pub(crate) fn percentile_bound(&self, percent: f64) -> f64 {
        let total = self.count();
        if total <= 0.0 {
            return f64::NAN;
        }
        let rank = (percent / 100.0 * total).ceil().max(1.0);
        self.buckets
            .iter()
            .find(|(_, count)| *count >= rank)
            .map_or(f64::INFINITY, |(bound, _)| *bound)
    }
}

fn metric_name(key: &str) -> &str {
    key.split_once('{').map_or(key, |(name, _)| name)
}

fn upper_bound(key: &str) -> Option<f64> {
    let start = key.find("le=\"")? + 4;
    let end = start + key[start..].find('"')?;
    match &key[start..end] {
        "+Inf" => Some(f64::INFINITY),
        bound => bound.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE orrery_fires_total counter\n\
        orrery_fires_total{outcome=\"fired\"} 10\n\
        orrery_fires_total{outcome=\"missed\"} 1\n\
        orrery_active_runs 3\n\
        orrery_schedule_lateness_seconds_bucket{le=\"0.001\"} 5\n\
        orrery_schedule_lateness_seconds_bucket{le=\"0.01\"} 9\n\
        orrery_schedule_lateness_seconds_bucket{le=\"+Inf\"} 10\n";
    const AFTER: &str = "orrery_fires_total{outcome=\"fired\"} 110\n\
        orrery_fires_total{outcome=\"missed\"} 1\n\
        orrery_active_runs 4\n\
        orrery_schedule_lateness_seconds_bucket{le=\"0.001\"} 55\n\
        orrery_schedule_lateness_seconds_bucket{le=\"0.01\"} 108\n\
        orrery_schedule_lateness_seconds_bucket{le=\"+Inf\"} 110\n";

    #[test]
    fn sums_series_by_name_and_label() {
        let snapshot = MetricsSnapshot::parse(BEFORE);
        assert_eq!(snapshot.sum("orrery_fires_total", ""), 11.0);
        assert_eq!(
            snapshot.sum("orrery_fires_total", "outcome=\"fired\""),
            10.0
        );
        assert_eq!(snapshot.sum("orrery_active_runs", ""), 3.0);
        assert_eq!(snapshot.sum("orrery_absent", ""), 0.0);
    }

    #[test]
    fn histogram_percentiles_come_from_bucket_differences() {
        let before = MetricsSnapshot::parse(BEFORE);
        let after = MetricsSnapshot::parse(AFTER);
        let delta = HistogramDelta::between(&before, &after, "orrery_schedule_lateness_seconds");
        assert_eq!(delta.count(), 100.0);
        assert_eq!(delta.percentile_bound(50.0), 0.001);
        assert_eq!(delta.percentile_bound(99.0), 0.01);
        assert_eq!(delta.percentile_bound(100.0), f64::INFINITY);
    }
}
