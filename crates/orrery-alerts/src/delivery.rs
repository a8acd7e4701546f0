//! Delivering the outbox: due notifications are sent to their receivers (secrets
//! opened at send time), a few at once; failures are retried with exponential backoff
//! or after the service's `Retry-After`; receivers with a documented rate limit get
//! the excess folded into one digest instead of losing it.

use crate::channels::{SendError, Target, send};
use crate::payload::{MAX_ALERTS_PER_MESSAGE, WebhookPayload};
use chrono::{DateTime, Utc};
use orrery_access::{Keyring, Sealed};
use orrery_core::spec::{
    Channel, ReceiverSpec, SecretValue, SpecDocument, SpecFormat, parse_document,
};
use orrery_store::{AlertConfigRecord, DeliveryResult, LeaderStore, NotificationRecord};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Attempts before a notification is given up on (about a day of backoff).
pub const MAX_ATTEMPTS: u32 = 12;
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The wait before attempt `attempts + 1`: 5 s doubling, at most an hour.
pub fn backoff(attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.min(20));
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// What a delivery attempt's outcome makes of the notification.
pub fn result_of(
    outcome: Result<String, SendError>,
    attempts_before: u32,
    now: DateTime<Utc>,
) -> DeliveryResult {
    match outcome {
        Ok(response) => DeliveryResult::Sent { response },
        Err(SendError {
            message,
            retry: Some(after),
        }) if attempts_before + 1 < MAX_ATTEMPTS => {
            let wait = after.unwrap_or_else(|| backoff(attempts_before));
            let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            DeliveryResult::Retry { error: message, at }
        }
        Err(SendError { message, .. }) => DeliveryResult::Failed { error: message },
    }
}

/// Sent timestamps per receiver, for the services' rate limits.
#[derive(Default)]
pub(crate) struct RateLimits {
    sent: BTreeMap<(String, String), VecDeque<DateTime<Utc>>>,
}

impl RateLimits {
    /// How many messages `receiver` may take at `now` under `limit`.
    fn room(&mut self, key: &(String, String), limit: (u32, Duration), now: DateTime<Utc>) -> u32 {
        let window = chrono::Duration::from_std(limit.1).unwrap_or(chrono::Duration::MAX);
        let sent = self.sent.entry(key.clone()).or_default();
        while sent.front().is_some_and(|at| *at + window <= now) {
            sent.pop_front();
        }
        limit
            .0
            .saturating_sub(u32::try_from(sent.len()).unwrap_or(u32::MAX))
    }

    fn record(&mut self, key: &(String, String), now: DateTime<Utc>) {
        self.sent.entry(key.clone()).or_default().push_back(now);
    }
}

/// One message to send: the notifications it stands for and its payload.
struct Outgoing {
    ids: Vec<(i64, u32)>,
    payload: WebhookPayload,
    body: String,
    target: Result<Target, String>,
}

/// Sends what is due, records the results; returns how many notifications it settled.
pub(crate) async fn deliver_due(
    store: &LeaderStore,
    http: &reqwest::Client,
    keyring: Option<&Arc<Keyring>>,
    limits: &mut RateLimits,
    configs: &[AlertConfigRecord],
    now: DateTime<Utc>,
    batch: u32,
) -> Result<usize, orrery_store::StoreError> {
    let due = store.due_notifications(now, batch).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut by_receiver: BTreeMap<(String, String), Vec<NotificationRecord>> = BTreeMap::new();
    for notification in due {
        by_receiver
            .entry((notification.project.clone(), notification.receiver.clone()))
            .or_default()
            .push(notification);
    }
    let mut outgoing = Vec::new();
    let mut results: Vec<(i64, DeliveryResult)> = Vec::new();
    for (key, notifications) in by_receiver {
        let project = key.0.as_str();
        let target = resolve_target(configs, project, &key.1, |secret| async move {
            open_secret(store, keyring, project, &secret).await
        })
        .await;
        let limit = target.as_ref().ok().and_then(Target::rate_limit);
        let room = match limit {
            Some(limit) => limits.room(&key, limit, now),
            None => u32::MAX,
        };
        if room == 0 {
            // They stay pending, untouched (a wait is not a failed attempt), and go as
            // one digest when the service has room again.
            continue;
        }
        let fold = limit.is_some() && notifications.len() > room as usize;
        if fold {
            outgoing.push(digest(&notifications, target.clone()));
            limits.record(&key, now);
        } else {
            for notification in notifications {
                if limit.is_some() {
                    limits.record(&key, now);
                }
                outgoing.push(single(notification, target.clone()));
            }
        }
    }
    let settled: usize = outgoing.iter().map(|o| o.ids.len()).sum();
    let mut tasks = tokio::task::JoinSet::new();
    for message in outgoing {
        let http = http.clone();
        tasks.spawn(async move {
            let outcome = match &message.target {
                Ok(target) => {
                    let outcome = send(&http, target, &message.payload, &message.body, now).await;
                    let label = if outcome.is_ok() { "sent" } else { "failed" };
                    metrics::counter!("orrery_notifications_total", "receiver_type" => target.kind(), "outcome" => label)
                        .increment(1);
                    outcome
                }
                Err(reason) => Err(SendError::permanent(reason.clone())),
            };
            message
                .ids
                .into_iter()
                .map(|(id, attempts)| (id, result_of(outcome.clone(), attempts, now)))
                .collect::<Vec<_>>()
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => results.extend(done),
            Err(error) => tracing::error!(%error, "a delivery task panicked"),
        }
    }
    store.record_deliveries(&results, now).await?;
    Ok(settled)
}

fn single(notification: NotificationRecord, target: Result<Target, String>) -> Outgoing {
    let payload = serde_json::from_str::<WebhookPayload>(&notification.payload);
    let (payload, target) = match payload {
        Ok(payload) => (payload, target),
        Err(error) => (
            empty_payload(&notification),
            Err(format!("the stored message does not read back: {error}")),
        ),
    };
    Outgoing {
        ids: vec![(notification.id, notification.attempts)],
        body: notification.payload,
        payload,
        target,
    }
}

/// Several notifications of one receiver as one message: every alert of each (up to
/// the per-message cap), under the first one's dedup key plus `+digest`.
fn digest(notifications: &[NotificationRecord], target: Result<Target, String>) -> Outgoing {
    let mut payloads: Vec<WebhookPayload> = notifications
        .iter()
        .filter_map(|n| serde_json::from_str(&n.payload).ok())
        .collect();
    let mut merged = payloads
        .first()
        .cloned()
        .unwrap_or_else(|| empty_payload(&notifications[0]));
    merged.alerts.clear();
    merged.truncated_alerts = 0;
    for payload in payloads.drain(..) {
        merged.truncated_alerts += payload.truncated_alerts;
        for alert in payload.alerts {
            if merged.alerts.len() < MAX_ALERTS_PER_MESSAGE {
                merged.alerts.push(alert);
            } else {
                merged.truncated_alerts += 1;
            }
        }
    }
    merged.status = if merged.alerts.iter().any(|a| a.status == "firing") {
        "firing".to_owned()
    } else {
        "resolved".to_owned()
    };
    merged
        .common_labels
        .retain(|k, v| merged.alerts.iter().all(|a| a.labels.get(k) == Some(v)));
    merged.common_annotations.clear();
    merged.group_labels.clear();
    merged.dedup_key = format!("{}+digest{}", merged.dedup_key, notifications.len());
    let body = serde_json::to_string(&merged).unwrap_or_default();
    Outgoing {
        ids: notifications.iter().map(|n| (n.id, n.attempts)).collect(),
        payload: merged,
        body,
        target,
    }
}

fn empty_payload(notification: &NotificationRecord) -> WebhookPayload {
    WebhookPayload {
        version: "4".to_owned(),
        group_key: String::new(),
        truncated_alerts: 0,
        status: "firing".to_owned(),
        receiver: notification.receiver.clone(),
        group_labels: Default::default(),
        common_labels: Default::default(),
        common_annotations: Default::default(),
        external_url: String::new(),
        alerts: Vec::new(),
        dedup_key: notification.dedup_key.clone(),
        project: notification.project.clone(),
    }
}

/// The receiver `name` of `project` among `configs`, its secrets opened by `open`
/// (given a secret's name).
pub async fn resolve_target<F, Fut>(
    configs: &[AlertConfigRecord],
    project: &str,
    name: &str,
    open: F,
) -> Result<Target, String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let config = configs
        .iter()
        .find(|c| c.kind == "Receiver" && c.project == project && c.name == name)
        .ok_or_else(|| format!("receiver {name:?} does not exist in project {project:?}"))?;
    let receiver: ReceiverSpec = match parse_document(&config.spec, SpecFormat::Json) {
        Ok(SpecDocument::Receiver(receiver)) => receiver,
        _ => return Err(format!("receiver {name:?} does not read back")),
    };
    let value = |value: SecretValue| {
        let open = &open;
        async move {
            match value {
                SecretValue::Plain(text) => Ok(text),
                SecretValue::Secret(secret) => open(secret).await,
            }
        }
    };
    Ok(match receiver.channel {
        Channel::Webhook { url, secret } => Target::Webhook {
            url: value(url).await?,
            secret: match secret {
                Some(s) => Some(value(s).await?),
                None => None,
            },
        },
        Channel::Slack { url } => Target::Slack {
            url: value(url).await?,
        },
        Channel::WeCom { url } => Target::WeCom {
            url: value(url).await?,
        },
        Channel::DingTalk { url, secret } => Target::DingTalk {
            url: value(url).await?,
            secret: match secret {
                Some(s) => Some(value(s).await?),
                None => None,
            },
        },
        Channel::Feishu { url, secret } => Target::Feishu {
            url: value(url).await?,
            secret: match secret {
                Some(s) => Some(value(s).await?),
                None => None,
            },
        },
        Channel::Email(channel) => {
            let password = match channel.password.clone() {
                Some(p) => Some(value(p).await?),
                None => None,
            };
            let ca = match channel.ca.clone() {
                Some(c) => Some(value(c).await?),
                None => None,
            };
            Target::Email {
                channel,
                password,
                ca,
            }
        }
    })
}

/// Opens a project's secret with the keyring.
pub fn open_sealed(
    keyring: Option<&Arc<Keyring>>,
    project: &str,
    name: &str,
    sealed: Option<orrery_store::SealedSecret>,
) -> Result<String, String> {
    let sealed =
        sealed.ok_or_else(|| format!("secret {name:?} does not exist in project {project:?}"))?;
    let keyring = keyring.ok_or_else(|| {
        format!("secret {name:?} cannot be opened: this server has no secret key")
    })?;
    keyring
        .open(
            project,
            name,
            &Sealed {
                key_id: sealed.key_id,
                nonce: sealed.nonce,
                ciphertext: sealed.ciphertext,
            },
        )
        .map_err(|e| format!("secret {name:?} cannot be opened: {e}"))
}

async fn open_secret(
    store: &LeaderStore,
    keyring: Option<&Arc<Keyring>>,
    project: &str,
    name: &str,
) -> Result<String, String> {
    let sealed = store
        .sealed_secrets(project, &[name.to_owned()])
        .await
        .map_err(|e| format!("cannot read secret {name:?}: {e}"))?
        .into_iter()
        .find(|(found, _)| found == name)
        .map(|(_, sealed)| sealed);
    open_sealed(keyring, project, name, sealed)
}
