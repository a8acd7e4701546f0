//! One measured figure, the unit of both the table and the JSON results.

use serde::Serialize;

/// A figure of one scenario under one configuration.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Measurement {
    pub(crate) scenario: &'static str,
    /// The parameters the figure was measured with, e.g. `n=500 slots=16`.
    pub(crate) config: String,
    pub(crate) metric: &'static str,
    pub(crate) value: f64,
    pub(crate) unit: &'static str,
    /// The per-repetition values the reported median was taken from, if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) samples: Vec<f64>,
}

impl Measurement {
    /// A figure without per-repetition samples.
    pub(crate) fn single(
        scenario: &'static str,
        config: &str,
        metric: &'static str,
        value: f64,
        unit: &'static str,
    ) -> Self {
        Self {
            scenario,
            config: config.to_owned(),
            metric,
            value: round3(value),
            unit,
            samples: Vec::new(),
        }
    }

    /// A median with the samples it was taken from.
    pub(crate) fn median_of(
        scenario: &'static str,
        config: &str,
        metric: &'static str,
        samples: &[f64],
        unit: &'static str,
    ) -> Self {
        Self {
            samples: samples.iter().copied().map(round3).collect(),
            ..Self::single(
                scenario,
                config,
                metric,
                crate::stats::median(samples),
                unit,
            )
        }
    }
}

/// Three decimals are below every clock's resolution here and keep the JSON readable.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The figures of one scenario under one configuration, added one by one.
pub(crate) struct Rows {
    scenario: &'static str,
    config: String,
    rows: Vec<Measurement>,
}

impl Rows {
    pub(crate) fn new(scenario: &'static str, config: String) -> Self {
        Self {
            scenario,
            config,
            rows: Vec::new(),
        }
    }

    /// Adds a figure without samples.
    pub(crate) fn add(&mut self, metric: &'static str, value: f64, unit: &'static str) {
        self.rows.push(Measurement::single(
            self.scenario,
            &self.config,
            metric,
            value,
            unit,
        ));
    }

    pub(crate) fn into_vec(self) -> Vec<Measurement> {
        self.rows
    }
}
