//! The route tree: which receivers an alert goes to, grouped by which labels and on
//! which timers. Alertmanager's rules: the root takes every alert; an alert goes down
//! into each child that matches until one without `continue` takes it; a route whose
//! children take the alert does not itself get it; settings a route leaves out are
//! its parent's.

use crate::labels::{Labels, Matchers};
use chrono::TimeDelta;

/// A group's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteTimings {
    /// How long a new group waits for more alerts before its first notification.
    pub group_wait: TimeDelta,
    /// How long a group waits after a notification before sending what changed.
    pub group_interval: TimeDelta,
    /// How long before an unchanged, still firing group is sent again.
    pub repeat_interval: TimeDelta,
}

impl Default for RouteTimings {
    fn default() -> Self {
        Self {
            group_wait: TimeDelta::seconds(30),
            group_interval: TimeDelta::minutes(5),
            repeat_interval: TimeDelta::hours(4),
        }
    }
}

/// One node of the tree; `None` settings are inherited from the parent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    pub matchers: Matchers,
    pub receiver: Option<String>,
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<TimeDelta>,
    pub group_interval: Option<TimeDelta>,
    pub repeat_interval: Option<TimeDelta>,
    pub send_resolved: Option<bool>,
    /// Look at the next sibling too after this route took an alert.
    pub continue_matching: bool,
    pub routes: Vec<Route>,
}

/// Where an alert goes: a receiver and how its group is formed and timed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    /// The route's position in the tree (child indexes from the root), so two routes
    /// with the same receiver keep separate groups.
    pub path: Vec<usize>,
    pub receiver: String,
    pub group_by: Vec<String>,
    pub timings: RouteTimings,
    pub send_resolved: bool,
}

/// What a route inherits from the routes above it.
#[derive(Clone)]
struct Inherited {
    receiver: Option<String>,
    group_by: Vec<String>,
    timings: RouteTimings,
    send_resolved: bool,
}

impl Route {
    /// The routes that take an alert with `labels` (none when no route names a
    /// receiver for it).
    pub fn matches(&self, labels: &Labels) -> Vec<RouteMatch> {
        let root = Inherited {
            receiver: None,
            group_by: Vec::new(),
            timings: RouteTimings::default(),
            send_resolved: false,
        };
        let mut found = Vec::new();
        // The root takes every alert, whatever its matchers say.
        self.descend(labels, &root, &mut Vec::new(), &mut found);
        found
    }

    fn settings(&self, parent: &Inherited) -> Inherited {
        Inherited {
            receiver: self.receiver.clone().or_else(|| parent.receiver.clone()),
            group_by: self
                .group_by
                .clone()
                .unwrap_or_else(|| parent.group_by.clone()),
            timings: RouteTimings {
                group_wait: self.group_wait.unwrap_or(parent.timings.group_wait),
                group_interval: self.group_interval.unwrap_or(parent.timings.group_interval),
                repeat_interval: self
                    .repeat_interval
                    .unwrap_or(parent.timings.repeat_interval),
            },
            send_resolved: self.send_resolved.unwrap_or(parent.send_resolved),
        }
    }

    fn descend(
        &self,
        labels: &Labels,
        parent: &Inherited,
        path: &mut Vec<usize>,
        found: &mut Vec<RouteMatch>,
    ) {
        let own = self.settings(parent);
        let mut taken_by_child = false;
        for (index, child) in self.routes.iter().enumerate() {
            if !child.matchers.matches(labels) {
                continue;
            }
            path.push(index);
            child.descend(labels, &own, path, found);
            path.pop();
            taken_by_child = true;
            if !child.continue_matching {
                break;
            }
        }
        if !taken_by_child && let Some(receiver) = own.receiver {
            found.push(RouteMatch {
                path: path.clone(),
                receiver,
                group_by: own.group_by,
                timings: own.timings,
                send_resolved: own.send_resolved,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::labels;

    /// The example tree: everything to the audit hook, critical alerts also to
    /// DingTalk, SLA misses to mail.
    fn tree() -> Route {
        Route {
            receiver: Some("audit-hook".to_owned()),
            group_by: Some(vec!["job".to_owned()]),
            send_resolved: Some(true),
            routes: vec![
                Route {
                    matchers: Matchers::of([("severity", "critical")]),
                    receiver: Some("oncall-dingtalk".to_owned()),
                    continue_matching: true,
                    ..Route::default()
                },
                Route {
                    matchers: Matchers::of([("alertname", "SlaMissed")]),
                    receiver: Some("oncall-mail".to_owned()),
                    group_wait: Some(TimeDelta::zero()),
                    ..Route::default()
                },
            ],
            ..Route::default()
        }
    }

    fn receivers(route: &Route, pairs: &[(&str, &str)]) -> Vec<String> {
        route
            .matches(&labels(pairs.iter().copied()))
            .into_iter()
            .map(|m| m.receiver)
            .collect()
    }

    #[test]
    fn an_alert_goes_down_every_matching_child_until_one_does_not_continue() {
        let tree = tree();
        assert_eq!(
            receivers(
                &tree,
                &[("alertname", "TaskFailed"), ("severity", "warning")]
            ),
            ["audit-hook"],
            "no child matched: the root takes it"
        );
        assert_eq!(
            receivers(
                &tree,
                &[("alertname", "RunFailed"), ("severity", "critical")]
            ),
            ["oncall-dingtalk"],
            "a child took it (and the root, whose children took it, does not)"
        );
        assert_eq!(
            receivers(
                &tree,
                &[("alertname", "SlaMissed"), ("severity", "critical")]
            ),
            ["oncall-dingtalk", "oncall-mail"],
            "continue: the next sibling too"
        );
    }

    #[test]
    fn settings_are_inherited_and_overridden_per_route() {
        let tree = tree();
        let found = tree.matches(&labels([
            ("alertname", "SlaMissed"),
            ("severity", "critical"),
        ]));
        let mail = found
            .iter()
            .find(|m| m.receiver == "oncall-mail")
            .expect("mail");
        assert_eq!(mail.path, [1]);
        assert_eq!(mail.group_by, ["job"]);
        assert!(mail.send_resolved);
        assert_eq!(mail.timings.group_wait, TimeDelta::zero());
        assert_eq!(mail.timings.group_interval, TimeDelta::minutes(5));
        assert_eq!(mail.timings.repeat_interval, TimeDelta::hours(4));
    }

    #[test]
    fn without_any_receiver_an_alert_goes_nowhere() {
        let tree = Route {
            routes: vec![Route {
                matchers: Matchers::of([("job", "etl")]),
                ..Route::default()
            }],
            ..Route::default()
        };
        assert!(tree.matches(&labels([("job", "etl")])).is_empty());
    }
}
