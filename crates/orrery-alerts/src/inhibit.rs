//! Inhibition: a firing alert mutes others it explains (a lost worker mutes the task
//! failures it caused), by rules of source matchers, target matchers and labels that
//! must be equal on both.

use crate::alert::Alert;
use crate::labels::Matchers;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InhibitRule {
    pub source_matchers: Matchers,
    pub target_matchers: Matchers,
    /// Labels the source and the target must agree on (both may lack one).
    pub equal: Vec<String>,
}

/// The rules every project has: a lost worker explains the task failures on it.
pub fn builtin_inhibit_rules() -> Vec<InhibitRule> {
    vec![InhibitRule {
        source_matchers: Matchers::of([("alertname", "WorkerLost")]),
        target_matchers: Matchers::of([("alertname", "TaskFailed")]),
        equal: vec!["worker".to_owned()],
    }]
}

/// Whether a firing alert among `firing` inhibits `target` under `rules`. An alert
/// never inhibits itself.
pub fn inhibited(target: &Alert, firing: &[&Alert], rules: &[InhibitRule]) -> bool {
    rules.iter().any(|rule| {
        rule.target_matchers.matches(&target.labels)
            && firing.iter().any(|source| {
                source.fingerprint != target.fingerprint
                    && source.is_firing()
                    && rule.source_matchers.matches(&source.labels)
                    && rule
                        .equal
                        .iter()
                        .all(|name| source.labels.get(name) == target.labels.get(name))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::labels;
    use chrono::DateTime;

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        Alert::firing(labels(pairs.iter().copied()), Default::default(), at)
    }

    #[test]
    fn a_lost_worker_inhibits_task_failures_on_that_worker_only() {
        let rules = builtin_inhibit_rules();
        let lost = alert(&[("alertname", "WorkerLost"), ("worker", "w1")]);
        let on_w1 = alert(&[("alertname", "TaskFailed"), ("worker", "w1"), ("task", "a")]);
        let on_w2 = alert(&[("alertname", "TaskFailed"), ("worker", "w2"), ("task", "b")]);
        let run = alert(&[("alertname", "RunFailed"), ("worker", "w1")]);
        let firing = [&lost, &on_w1, &on_w2, &run];
        assert!(inhibited(&on_w1, &firing, &rules));
        assert!(!inhibited(&on_w2, &firing, &rules));
        assert!(!inhibited(&run, &firing, &rules), "only the rule's targets");
        assert!(
            !inhibited(&on_w1, &[&on_w1, &on_w2], &rules),
            "no source firing"
        );
        let mut resolved = lost.clone();
        resolved.resolved_at = Some(resolved.starts_at);
        assert!(
            !inhibited(&on_w1, &[&resolved], &rules),
            "a resolved source"
        );
    }
}
