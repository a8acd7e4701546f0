//! Silences: for a while, alerts matching some labels are not sent (they still fire
//! and are listed).

use crate::alert::Alert;
use crate::labels::Matchers;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    pub id: i64,
    pub matchers: Matchers,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Silence {
    /// Whether this silence mutes `alert` at `now`.
    pub fn mutes(&self, alert: &Alert, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at && self.matchers.matches(&alert.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::labels;

    #[test]
    fn a_silence_mutes_matching_alerts_only_while_it_lasts() {
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).expect("time");
        let silence = Silence {
            id: 1,
            matchers: Matchers::of([("job", "nightly-etl")]),
            starts_at: at(0),
            ends_at: at(7200),
        };
        let etl = Alert::firing(labels([("job", "nightly-etl")]), Default::default(), at(0));
        let other = Alert::firing(labels([("job", "report")]), Default::default(), at(0));
        assert!(silence.mutes(&etl, at(10)));
        assert!(!silence.mutes(&other, at(10)));
        assert!(!silence.mutes(&etl, at(-1)));
        assert!(!silence.mutes(&etl, at(7200)));
    }
}
