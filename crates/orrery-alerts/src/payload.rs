//! A notification as Alertmanager's webhook JSON (version 4), the form stored in the
//! outbox: webhook receivers get it as is (existing Alertmanager consumers read it),
//! and the chat and e-mail channels render their messages from it.

use crate::alert::Alert;
use crate::group::Notification;
use crate::labels::Labels;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most alerts one message lists; the rest are counted in `truncatedAlerts`.
pub const MAX_ALERTS_PER_MESSAGE: usize = 200;

/// Alertmanager's webhook body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    pub version: String,
    pub group_key: String,
    pub truncated_alerts: usize,
    /// `firing` while any alert of the message fires, else `resolved`.
    pub status: String,
    pub receiver: String,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<PayloadAlert>,
    /// The notification's dedup key (also sent as the `Idempotency-Key` header).
    #[serde(default)]
    pub dedup_key: String,
    /// The project the alerts belong to.
    #[serde(default)]
    pub project: String,
}

/// One alert of the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadAlert {
    pub status: String,
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: DateTime<Utc>,
    /// Alertmanager writes the zero time for an alert still firing.
    pub ends_at: DateTime<Utc>,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

impl WebhookPayload {
    /// The body of `notification` of `project`; `external_url` is the console's base
    /// address, when known.
    pub fn of(notification: &Notification, project: &str, external_url: Option<&str>) -> Self {
        let base = external_url.unwrap_or("").trim_end_matches('/');
        let all: Vec<&Alert> = notification
            .firing
            .iter()
            .chain(notification.resolved.iter())
            .collect();
        let truncated_alerts = all.len().saturating_sub(MAX_ALERTS_PER_MESSAGE);
        let alerts: Vec<PayloadAlert> = all
            .iter()
            .take(MAX_ALERTS_PER_MESSAGE)
            .map(|alert| payload_alert(alert, base))
            .collect();
        let common = |pick: fn(&Alert) -> &Labels| -> Labels {
            let mut iter = all.iter().map(|a| pick(a));
            let Some(first) = iter.next() else {
                return Labels::new();
            };
            let mut common = first.clone();
            for labels in iter {
                common.retain(|k, v| labels.get(k) == Some(v));
            }
            common
        };
        WebhookPayload {
            version: "4".to_owned(),
            group_key: notification.group_key.id(),
            truncated_alerts,
            status: if notification.firing.is_empty() {
                "resolved".to_owned()
            } else {
                "firing".to_owned()
            },
            receiver: notification.receiver.clone(),
            group_labels: notification.group_key.group_labels.clone(),
            common_labels: common(|a| &a.labels),
            common_annotations: common(|a| &a.annotations),
            external_url: base.to_owned(),
            alerts,
            dedup_key: notification.dedup_key.clone(),
            project: project.to_owned(),
        }
    }

    /// How many alerts fire, and how many resolved.
    pub fn counts(&self) -> (usize, usize) {
        let firing = self.alerts.iter().filter(|a| a.status == "firing").count();
        (firing, self.alerts.len() - firing)
    }
}

fn payload_alert(alert: &Alert, base: &str) -> PayloadAlert {
    let generator_url = match alert.annotations.get("run_id") {
        Some(run) if !base.is_empty() => format!("{base}/ui/runs/{run}"),
        _ => String::new(),
    };
    PayloadAlert {
        status: if alert.is_firing() {
            "firing".to_owned()
        } else {
            "resolved".to_owned()
        },
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at: alert.starts_at,
        ends_at: alert.resolved_at.unwrap_or_else(zero_time),
        generator_url,
        fingerprint: alert.fingerprint.clone(),
    }
}

/// Alertmanager's "not ended" time, 0001-01-01T00:00:00Z.
fn zero_time() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map_or(DateTime::UNIX_EPOCH, |naive| naive.and_utc())
}
