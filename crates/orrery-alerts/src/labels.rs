//! Labels name an alert (`{project, job, task, worker, alertname, severity}` and the
//! job's own); matchers select alerts by them; the fingerprint is an alert's identity.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// An alert's labels, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Label values an alert must have, all of them (an empty set matches every alert).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matchers(pub BTreeMap<String, String>);

impl Matchers {
    /// Matchers from (label, value) pairs.
    pub fn of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        )
    }

    /// Whether `labels` has every value asked for; a label the alert lacks matches
    /// only an empty value, as in Alertmanager.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|(name, value)| {
            labels
                .get(name)
                .map_or(value.is_empty(), |have| have == value)
        })
    }
}

/// An alert's identity: the SHA-256 of its labels, first 8 bytes in hex. Two alerts
/// with the same labels are the same alert (a repeat or its resolution).
pub fn fingerprint(labels: &Labels) -> String {
    let mut hash = Sha256::new();
    for (name, value) in labels {
        // Lengths first, so ("a", "bc") and ("ab", "c") differ.
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((value.len() as u64).to_le_bytes());
        hash.update(value.as_bytes());
    }
    orrery_core::hex::encode(&hash.finalize()[..8])
}

/// Labels from (label, value) pairs.
pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Labels {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_need_every_value_and_an_absent_label_matches_only_empty() {
        let alert = labels([("job", "etl"), ("severity", "critical")]);
        assert!(Matchers::default().matches(&alert));
        assert!(Matchers::of([("job", "etl")]).matches(&alert));
        assert!(!Matchers::of([("job", "etl"), ("severity", "warning")]).matches(&alert));
        assert!(!Matchers::of([("team", "pay")]).matches(&alert));
        assert!(Matchers::of([("team", "")]).matches(&alert));
    }

    #[test]
    fn the_fingerprint_is_the_labels_and_only_them() {
        let a = labels([("job", "etl"), ("task", "load")]);
        let same = labels([("task", "load"), ("job", "etl")]);
        assert_eq!(fingerprint(&a), fingerprint(&same));
        assert_eq!(fingerprint(&a).len(), 16);
        assert_ne!(fingerprint(&a), fingerprint(&labels([("job", "etl")])));
        assert_ne!(
            fingerprint(&labels([("a", "bc")])),
            fingerprint(&labels([("ab", "c")]))
        );
    }
}
