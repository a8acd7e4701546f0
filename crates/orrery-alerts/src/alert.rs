//! An alert: what the scheduler raises (its name, labels and annotations) and whether
//! it still fires.

use crate::labels::{Labels, fingerprint};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What happened. The label `alertname` carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertName {
    RunFailed,
    TaskFailed,
    TaskRetrying,
    RunTimedOut,
    FireMissed,
    SlaMissed,
    WorkerLost,
    LeaderChanged,
}

impl AlertName {
    pub const ALL: [AlertName; 8] = [
        AlertName::RunFailed,
        AlertName::TaskFailed,
        AlertName::TaskRetrying,
        AlertName::RunTimedOut,
        AlertName::FireMissed,
        AlertName::SlaMissed,
        AlertName::WorkerLost,
        AlertName::LeaderChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertName::RunFailed => "RunFailed",
            AlertName::TaskFailed => "TaskFailed",
            AlertName::TaskRetrying => "TaskRetrying",
            AlertName::RunTimedOut => "RunTimedOut",
            AlertName::FireMissed => "FireMissed",
            AlertName::SlaMissed => "SlaMissed",
            AlertName::WorkerLost => "WorkerLost",
            AlertName::LeaderChanged => "LeaderChanged",
        }
    }

    pub fn parse(name: &str) -> Option<AlertName> {
        AlertName::ALL
            .into_iter()
            .find(|known| known.as_str() == name)
    }

    /// Run-level alerts (the business notices them) are critical; the rest warn.
    pub fn default_severity(self) -> Severity {
        match self {
            AlertName::RunFailed
            | AlertName::RunTimedOut
            | AlertName::FireMissed
            | AlertName::SlaMissed => Severity::Critical,
            AlertName::TaskFailed
            | AlertName::TaskRetrying
            | AlertName::WorkerLost
            | AlertName::LeaderChanged => Severity::Warning,
        }
    }
}

/// How urgent an alert is (the label `severity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(name: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|known| known.as_str() == name)
    }
}

/// One alert as the router sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Its identity (see [`fingerprint`]).
    pub fingerprint: String,
    pub labels: Labels,
    /// What a person reads: run id, attempt, logical date, error, log tail, link.
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// When it stopped firing (a later success of the job); `None` while it fires.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Alert {
    /// A firing alert.
    pub fn firing(
        labels: Labels,
        annotations: BTreeMap<String, String>,
        starts_at: DateTime<Utc>,
    ) -> Alert {
        Alert {
            fingerprint: fingerprint(&labels),
            labels,
            annotations,
            starts_at,
            resolved_at: None,
        }
    }

    pub fn is_firing(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// The value of label `name`, or "".
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_severities_read_back_and_run_level_alerts_are_critical() {
        for name in AlertName::ALL {
            assert_eq!(AlertName::parse(name.as_str()), Some(name));
        }
        assert_eq!(AlertName::parse("runfailed"), None);
        assert_eq!(AlertName::SlaMissed.default_severity(), Severity::Critical);
        assert_eq!(AlertName::WorkerLost.default_severity(), Severity::Warning);
        assert_eq!(Severity::parse("critical"), Some(Severity::Critical));
        assert_eq!(Severity::parse("page"), None);
    }
}
