//! The router's state as data, saved by the alert loop with each pass and restored by
//! the next leader: groups with their alerts, timers and what was last sent.

use crate::alert::Alert;
use crate::group::{Group, GroupKey, Router};
use crate::labels::Labels;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A router's groups, serializable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterSnapshot {
    pub groups: Vec<GroupSnapshot>,
}

/// One aggregation group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSnapshot {
    pub path: Vec<usize>,
    pub receiver: String,
    pub group_labels: Labels,
    pub alerts: Vec<Alert>,
    pub next_flush: DateTime<Utc>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub sent_firing: Vec<String>,
    pub n_sent: u64,
    pub created_at: DateTime<Utc>,
}

impl Router {
    /// The router's groups as data.
    pub fn snapshot(&self) -> RouterSnapshot {
        RouterSnapshot {
            groups: self
                .groups
                .iter()
                .map(|(key, group)| GroupSnapshot {
                    path: key.path.clone(),
                    receiver: key.receiver.clone(),
                    group_labels: key.group_labels.clone(),
                    alerts: group.alerts.values().cloned().collect(),
                    next_flush: group.next_flush,
                    last_sent_at: group.last_sent_at,
                    sent_firing: group.sent_firing.iter().cloned().collect(),
                    n_sent: group.n_sent,
                    created_at: group.created_at,
                })
                .collect(),
        }
    }

    /// Takes saved groups back. A group whose route no longer exists in this router's
    /// tree (the routes were changed) is dropped and its firing alerts taken in anew,
    /// as new alerts of the routes that now match them.
    pub fn restore(&mut self, snapshot: RouterSnapshot, now: DateTime<Utc>) {
        for saved in snapshot.groups {
            let route = saved.alerts.first().and_then(|alert| {
                self.route
                    .matches(&alert.labels)
                    .into_iter()
                    .find(|m| m.path == saved.path && m.receiver == saved.receiver)
            });
            let Some(route) = route else {
                for alert in saved.alerts.iter().filter(|a| a.is_firing()) {
                    self.ingest(alert, now);
                }
                continue;
            };
            let key = GroupKey {
                path: saved.path,
                receiver: saved.receiver,
                group_labels: saved.group_labels,
            };
            let alerts: BTreeMap<String, Alert> = saved
                .alerts
                .into_iter()
                .map(|alert| (alert.fingerprint.clone(), alert))
                .collect();
            self.groups.insert(
                key,
                Group {
                    route,
                    alerts,
                    next_flush: saved.next_flush,
                    last_sent_at: saved.last_sent_at,
                    sent_firing: saved.sent_firing.into_iter().collect(),
                    n_sent: saved.n_sent,
                    created_at: saved.created_at,
                },
            );
        }
    }
}
