//! The router: alerts go into aggregation groups (one per route and value of its
//! `group_by` labels), and each group is flushed on its own timers. A new group waits
//! `group_wait` for company; after a notification, what changed is sent at most every
//! `group_interval`; an unchanged firing group is sent again after `repeat_interval`.
//! Silenced and inhibited alerts are left out of what is sent. Pure: time comes in as
//! `now`, notifications go out as values.

use crate::alert::Alert;
use crate::inhibit::{InhibitRule, builtin_inhibit_rules, inhibited};
use crate::labels::{Labels, fingerprint};
use crate::route::{Route, RouteMatch};
use crate::silence::Silence;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Which group an alert is in: its route, the receiver and the grouped label values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub path: Vec<usize>,
    pub receiver: String,
    pub group_labels: Labels,
}

impl GroupKey {
    /// A stable text id: the receiver, the route path and the labels' fingerprint.
    pub fn id(&self) -> String {
        let path: Vec<String> = self.path.iter().map(usize::to_string).collect();
        format!(
            "{}/{}/{}",
            self.receiver,
            path.join("."),
            fingerprint(&self.group_labels)
        )
    }
}

/// One message to a receiver: every alert of the group still firing and not muted,
/// and those resolved since the last message (when the route sends resolutions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub receiver: String,
    pub group_key: GroupKey,
    pub firing: Vec<Alert>,
    pub resolved: Vec<Alert>,
    /// Unique per message of a group: the receiver drops a second delivery of one key.
    pub dedup_key: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub(crate) route: RouteMatch,
    pub(crate) alerts: BTreeMap<String, Alert>,
    pub(crate) next_flush: DateTime<Utc>,
    pub(crate) last_sent_at: Option<DateTime<Utc>>,
    /// The firing alerts the last message named.
    pub(crate) sent_firing: BTreeSet<String>,
    pub(crate) n_sent: u64,
    /// When the group was made: part of its messages' dedup keys, so a group made
    /// again later (same labels, after it emptied) never reuses a key.
    pub(crate) created_at: DateTime<Utc>,
}

/// The routing state of one project.
#[derive(Clone, Debug)]
pub struct Router {
    pub(crate) route: Route,
    inhibit_rules: Vec<InhibitRule>,
    pub(crate) groups: BTreeMap<GroupKey, Group>,
}

impl Router {
    /// A router over a route tree and the project's inhibit rules (the built-in ones
    /// are added).
    pub fn new(route: Route, mut inhibit_rules: Vec<InhibitRule>) -> Router {
        inhibit_rules.extend(builtin_inhibit_rules());
        Router {
            route,
            inhibit_rules,
            groups: BTreeMap::new(),
        }
    }

    /// Takes an alert in: a new firing alert joins (or starts) its groups; a repeat
    /// updates it; a resolution marks it resolved where it is known.
    pub fn ingest(&mut self, alert: &Alert, now: DateTime<Utc>) {
        for route in self.route.matches(&alert.labels) {
            let key = GroupKey {
                path: route.path.clone(),
                receiver: route.receiver.clone(),
                group_labels: route
                    .group_by
                    .iter()
                    .filter_map(|name| {
                        alert
                            .labels
                            .get(name)
                            .map(|value| (name.clone(), value.clone()))
                    })
                    .collect(),
            };
            if let Some(group) = self.groups.get_mut(&key) {
                group
                    .alerts
                    .insert(alert.fingerprint.clone(), alert.clone());
            } else if alert.is_firing() {
                let next_flush = later(now, route.timings.group_wait);
                let mut alerts = BTreeMap::new();
                alerts.insert(alert.fingerprint.clone(), alert.clone());
                self.groups.insert(
                    key,
                    Group {
                        route,
                        alerts,
                        next_flush,
                        last_sent_at: None,
                        sent_firing: BTreeSet::new(),
                        n_sent: 0,
                        created_at: now,
                    },
                );
            }
        }
    }

    /// The messages due at `now`, in group order; groups left empty are dropped.
    pub fn flush(&mut self, silences: &[Silence], now: DateTime<Utc>) -> Vec<Notification> {
        let firing_now: BTreeMap<String, Alert> = self
            .groups
            .values()
            .flat_map(|group| group.alerts.values())
            .filter(|alert| alert.is_firing())
            .map(|alert| (alert.fingerprint.clone(), alert.clone()))
            .collect();
        let firing_refs: Vec<&Alert> = firing_now.values().collect();
        let muted = |alert: &Alert| {
            silences.iter().any(|silence| silence.mutes(alert, now))
                || inhibited(alert, &firing_refs, &self.inhibit_rules)
        };
        let mut notifications = Vec::new();
        for (key, group) in &mut self.groups {
            if group.next_flush > now {
                continue;
            }
            let firing: Vec<Alert> = group
                .alerts
                .values()
                .filter(|alert| alert.is_firing() && !muted(alert))
                .cloned()
                .collect();
            let resolved: Vec<Alert> = group
                .alerts
                .values()
                .filter(|alert| {
                    !alert.is_firing() && group.sent_firing.contains(&alert.fingerprint)
                })
                .cloned()
                .collect();
            let mut firing = firing;
            let mut resolved = resolved;
            // Oldest first, so a message reads in the order things went wrong.
            for list in [&mut firing, &mut resolved] {
                list.sort_by(|a, b| (a.starts_at, &a.labels).cmp(&(b.starts_at, &b.labels)));
            }
            let firing_set: BTreeSet<String> = firing
                .iter()
                .map(|alert| alert.fingerprint.clone())
                .collect();
            let something_new = !firing_set.is_subset(&group.sent_firing);
            let repeat_due = group
                .last_sent_at
                .is_some_and(|sent| later(sent, group.route.timings.repeat_interval) <= now);
            let tell_resolved = group.route.send_resolved && !resolved.is_empty();
            let send = (!firing.is_empty() && (something_new || repeat_due)) || tell_resolved;
            if send {
                group.n_sent += 1;
                notifications.push(Notification {
                    receiver: key.receiver.clone(),
                    group_key: key.clone(),
                    dedup_key: format!(
                        "{}@{}#{}",
                        key.id(),
                        group.created_at.timestamp_millis(),
                        group.n_sent
                    ),
                    firing,
                    resolved: if group.route.send_resolved {
                        resolved
                    } else {
                        Vec::new()
                    },
                    at: now,
                });
                group.sent_firing = firing_set;
                group.last_sent_at = Some(now);
            }
            // Resolved alerts have been told (or need not be); a later firing of the
            // same labels is a new alert.
            group.alerts.retain(|_, alert| alert.is_firing());
            group
                .sent_firing
                .retain(|fingerprint| group.alerts.contains_key(fingerprint));
            group.next_flush = later(now, group.route.timings.group_interval);
        }
        self.groups.retain(|_, group| !group.alerts.is_empty());
        notifications
    }

    /// When the next group is due, if any group exists.
    pub fn next_flush(&self) -> Option<DateTime<Utc>> {
        self.groups.values().map(|group| group.next_flush).min()
    }

    /// How many groups exist (for metrics and tests).
    pub fn n_groups(&self) -> usize {
        self.groups.len()
    }
}

/// `at + delta`, or the end of time when that overflows (a timer never due).
fn later(at: DateTime<Utc>, delta: chrono::TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(delta)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
