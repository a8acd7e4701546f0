//! The alerting records: what the scheduler raises (`NewAlertEvent`), the alerts and
//! notifications the leader's alert loop keeps, silences and applied receivers and
//! routes.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Label or annotation names to values.
pub type LabelMap = BTreeMap<String, String>;

/// What an alert event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertEventStatus {
    /// An alert fires (or fires again) with these labels.
    Firing,
    /// The job (labels `project` and `job`) succeeded: its firing alerts resolve.
    ResolveJob,
}

impl AlertEventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEventStatus::Firing => "firing",
            AlertEventStatus::ResolveJob => "resolve_job",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "firing" => Ok(AlertEventStatus::Firing),
            "resolve_job" => Ok(AlertEventStatus::ResolveJob),
            other => Err(corrupt("alert event status", other)),
        }
    }
}

/// An alert event to store with the change that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAlertEvent {
    pub project: String,
    pub status: AlertEventStatus,
    pub labels: LabelMap,
    pub annotations: LabelMap,
    pub at: DateTime<Utc>,
}

/// A stored alert event, in `seq` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertEventRecord {
    pub seq: i64,
    pub event: NewAlertEvent,
}

/// One firing of an alert (repeats update it; a resolution ends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: i64,
    pub project: String,
    pub fingerprint: String,
    pub alertname: String,
    pub labels: LabelMap,
    pub annotations: LabelMap,
    pub starts_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// An alert as the alert loop last saw it, to write: the firing row of its
/// fingerprint is updated, or a new one made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertChange {
    pub project: String,
    pub fingerprint: String,
    pub labels: LabelMap,
    pub annotations: LabelMap,
    pub starts_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A message to queue for a receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotification {
    pub project: String,
    pub receiver: String,
    /// Unique: a second notification with the same key is not queued.
    pub dedup_key: String,
    /// The message (Alertmanager's webhook JSON; channels render from it).
    pub payload: String,
}

/// Where a notification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationState {
    /// Not yet acknowledged by its receiver; sent when `next_attempt_at` comes.
    Pending,
    Sent,
    /// Given up on (a permanent error, or out of attempts).
    Failed,
}

impl NotificationState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Pending => "pending",
            NotificationState::Sent => "sent",
            NotificationState::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(NotificationState::Pending),
            "sent" => Ok(NotificationState::Sent),
            "failed" => Ok(NotificationState::Failed),
            other => Err(corrupt("notification state", other)),
        }
    }
}

/// A queued or delivered notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: i64,
    pub project: String,
    pub receiver: String,
    pub dedup_key: String,
    pub payload: String,
    pub state: NotificationState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// What the receiver answered to the delivery that succeeded.
    pub response: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryResult {
    Sent {
        response: String,
    },
    /// Failed for now: try again at `at`.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
}

/// A silence: alerts matching every matcher are muted from `starts_at` to `ends_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceRecord {
    pub id: i64,
    pub project: String,
    pub matchers: LabelMap,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// An applied `Receiver` or `AlertRoute` document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertConfigRecord {
    pub project: String,
    /// `Receiver` or `AlertRoute`.
    pub kind: String,
    pub name: String,
    /// The document's canonical JSON.
    pub spec: String,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn parse_status(text: &str) -> Result<AlertEventStatus, StoreError> {
    AlertEventStatus::parse(text)
}

/// Labels and annotations are stored as JSON objects.
pub(crate) fn labels_to_json(labels: &LabelMap) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) fn labels_from_json(text: &str) -> Result<LabelMap, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: "alert labels",
        message: e.to_string(),
    })
}

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        message: format!("unknown value {value:?}"),
    }
}
