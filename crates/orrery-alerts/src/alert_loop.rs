//! The leader's alert loop: it reads the alert events the scheduler committed (from a
//! saved cursor), keeps the firing alerts, routes them, and writes what each pass
//! decided (alerts, notifications, the routers' groups, the cursor) in one
//! transaction; then it delivers the outbox. A new leader resumes from the saved state:
//! nothing committed is routed twice, and nothing acknowledged is sent again.

use crate::alert::{Alert, AlertName};
use crate::delivery::{RateLimits, deliver_due};
use crate::labels::{Matchers, fingerprint};
use crate::payload::WebhookPayload;
use crate::routing::{Routing, SavedRouting};
use crate::silence::Silence;
use chrono::{DateTime, Utc};
use orrery_access::Keyring;
use orrery_core::clock::Clock;
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_store::{
    AlertChange, AlertConfigRecord, AlertEventRecord, AlertEventStatus, AlertPass, LabelMap,
    LeaderStore, NewAlertEvent, NewNotification, StoreError,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Alert events read per pass.
const EVENTS_PER_PASS: u32 = 1000;
/// Notifications sent per delivery round (all at once).
const DELIVERY_BATCH: u32 = 100;
/// Lines of a failed attempt's log an alert quotes.
const LOG_TAIL_LINES: u32 = 20;
/// Alerts about an event rather than a condition (a leader change, a lost worker)
/// resolve on their own this long after they last fired.
const EVENT_ALERT_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// How the alert loop runs.
#[derive(Clone, Debug)]
pub struct AlertLoopConfig {
    /// The console's address, for links in messages.
    pub external_url: Option<String>,
    /// Opens receivers' secrets.
    pub keyring: Option<Arc<Keyring>>,
    /// Longest wait between passes.
    pub pass_interval: Duration,
    /// This node, named in `LeaderChanged`.
    pub node: String,
}

impl Default for AlertLoopConfig {
    fn default() -> Self {
        AlertLoopConfig {
            external_url: None,
            keyring: None,
            pass_interval: Duration::from_secs(1),
            node: String::new(),
        }
    }
}

/// Runs the alert loop of one leadership term until `stop` turns true or the store
/// says the term is over.
pub async fn run_alert_loop(
    store: LeaderStore,
    clock: Arc<dyn Clock>,
    config: AlertLoopConfig,
    mut stop: watch::Receiver<bool>,
) {
    let http = match crate::channels::http_client() {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "cannot build the alert loop's HTTP client; alerts are not delivered");
            return;
        }
    };
    let mut state = LoopState::new(store, clock, config, http);
    if store_fenced(state.announce_leader().await) {
        return;
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let outcome = match state.reload_if_needed().await {
            Ok(()) => state.pass().await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(busy) if busy => continue,
            Ok(_) => {}
            Err(StoreError::Fenced { .. }) => return,
            Err(error) => {
                tracing::warn!(%error, "alert pass failed; it is retried from the saved state");
                state.loaded = false;
            }
        }
        let wait = state.wait();
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn store_fenced(result: Result<(), StoreError>) -> bool {
    match result {
        Ok(()) => false,
        Err(StoreError::Fenced { .. }) => true,
        Err(error) => {
            tracing::warn!(%error, "cannot record the leader change alert");
            false
        }
    }
}

struct LoopState {
    store: LeaderStore,
    clock: Arc<dyn Clock>,
    config: AlertLoopConfig,
    http: reqwest::Client,
    /// Whether the fields below reflect the store.
    loaded: bool,
    cursor: i64,
    routing: Routing,
    /// Alerts firing, by (project, fingerprint).
    firing: BTreeMap<(String, String), Alert>,
    /// When each firing alert last fired (its first firing or latest repeat).
    last_fired: BTreeMap<(String, String), DateTime<Utc>>,
    last_saved: String,
    limits: RateLimits,
    configs: Vec<AlertConfigRecord>,
}

impl LoopState {
    fn new(
        store: LeaderStore,
        clock: Arc<dyn Clock>,
        config: AlertLoopConfig,
        http: reqwest::Client,
    ) -> Self {
        LoopState {
            store,
            clock,
            config,
            http,
            loaded: false,
            cursor: 0,
            routing: Routing::default(),
            firing: BTreeMap::new(),
            last_fired: BTreeMap::new(),
            last_saved: String::new(),
            limits: RateLimits::default(),
            configs: Vec::new(),
        }
    }

    /// A term after the first is a leader change: say so.
    async fn announce_leader(&self) -> Result<(), StoreError> {
        let epoch = self.store.epoch();
        if epoch <= 1 {
            return Ok(());
        }
        let mut labels = LabelMap::new();
        labels.insert(
            "alertname".to_owned(),
            AlertName::LeaderChanged.as_str().to_owned(),
        );
        labels.insert(
            "severity".to_owned(),
            AlertName::LeaderChanged
                .default_severity()
                .as_str()
                .to_owned(),
        );
        labels.insert(
            "project".to_owned(),
            orrery_core::spec::DEFAULT_PROJECT.to_owned(),
        );
        let mut annotations = LabelMap::new();
        annotations.insert("leader".to_owned(), self.config.node.clone());
        annotations.insert("epoch".to_owned(), epoch.to_string());
        self.store
            .raise_alert_events(&[NewAlertEvent {
                project: orrery_core::spec::DEFAULT_PROJECT.to_owned(),
                status: AlertEventStatus::Firing,
                labels,
                annotations,
                at: self.clock.now(),
            }])
            .await
    }

    /// Reads the saved cursor, routers and firing alerts (at the start of a term, and
    /// after a pass failed to commit).
    async fn reload_if_needed(&mut self) -> Result<(), StoreError> {
        if self.loaded {
            return Ok(());
        }
        let now = self.clock.now();
        let (cursor, saved) = match self.store.alert_router_state().await? {
            Some((cursor, text)) => match serde_json::from_str::<SavedRouting>(&text) {
                Ok(saved) => (cursor, saved),
                Err(error) => {
                    tracing::error!(%error, "the saved alert routing does not read back; groups start afresh");
                    (cursor, SavedRouting::default())
                }
            },
            None => (0, SavedRouting::default()),
        };
        self.cursor = cursor;
        let records = self.store.firing_alerts().await?;
        self.last_fired = records
            .iter()
            .map(|r| ((r.project.clone(), r.fingerprint.clone()), r.updated_at))
            .collect();
        self.firing = records
            .into_iter()
            .map(|record| {
                let alert = Alert {
                    fingerprint: record.fingerprint.clone(),
                    labels: record.labels,
                    annotations: record.annotations,
                    starts_at: record.starts_at,
                    resolved_at: None,
                };
                ((record.project, record.fingerprint), alert)
            })
            .collect();
        self.routing = Routing::restoring(saved);
        self.configs = self.store.alert_configs().await?;
        self.routing.update(&self.configs, &self.firing, now);
        self.last_saved = serde_json::to_string(&self.routing.saved()).unwrap_or_default();
        self.loaded = true;
        Ok(())
    }

    /// One pass: route new events, flush due groups, commit, deliver. True when there
    /// is more to do at once.
    async fn pass(&mut self) -> Result<bool, StoreError> {
        let now = self.clock.now();
        self.configs = self.store.alert_configs().await?;
        self.routing.update(&self.configs, &self.firing, now);
        let events = self
            .store
            .alert_events_after(self.cursor, EVENTS_PER_PASS)
            .await?;
        let mut changes = Vec::new();
        for record in &events {
            self.take(record, &mut changes, now).await;
        }
        self.expire_event_alerts(&mut changes, now);
        let silences = self.silences(now).await?;
        let flushed = self.routing.flush(&silences, now);
        let cursor = events.last().map_or(self.cursor, |e| e.seq);
        let saved = serde_json::to_string(&self.routing.saved()).unwrap_or_default();
        let notifications: Vec<NewNotification> = flushed
            .iter()
            .map(|((project, route), notification)| {
                let payload =
                    WebhookPayload::of(notification, project, self.config.external_url.as_deref());
                let mut payload = payload;
                payload.dedup_key = format!("{project}/{route}/{}", notification.dedup_key);
                NewNotification {
                    project: project.clone(),
                    receiver: notification.receiver.clone(),
                    dedup_key: payload.dedup_key.clone(),
                    payload: serde_json::to_string(&payload).unwrap_or_default(),
                }
            })
            .collect();
        if cursor != self.cursor
            || !changes.is_empty()
            || !notifications.is_empty()
            || saved != self.last_saved
        {
            self.store
                .commit_alert_pass(&AlertPass {
                    cursor,
                    router_state: &saved,
                    alerts: &changes,
                    notifications: &notifications,
                    now,
                })
                .await?;
            self.cursor = cursor;
            self.last_saved = saved;
        }
        let settled = deliver_due(
            &self.store,
            &self.http,
            self.config.keyring.as_ref(),
            &mut self.limits,
            &self.configs,
            now,
            DELIVERY_BATCH,
        )
        .await?;
        let (depth, oldest) = self.store.outbox_depth().await?;
        metrics::gauge!("orrery_alert_outbox_depth").set(depth as f64);
        let age = oldest.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        metrics::gauge!("orrery_alert_outbox_oldest_age_seconds").set(age);
        metrics::gauge!("orrery_alerts_firing").set(self.firing.len() as f64);
        Ok(events.len() == EVENTS_PER_PASS as usize || settled == DELIVERY_BATCH as usize)
    }

    /// Takes one alert event in.
    async fn take(
        &mut self,
        record: &AlertEventRecord,
        changes: &mut Vec<AlertChange>,
        now: DateTime<Utc>,
    ) {
        let event = &record.event;
        match event.status {
            AlertEventStatus::Firing => {
                let name = event.labels.get("alertname").cloned().unwrap_or_default();
                metrics::counter!("orrery_alerts_raised_total", "alertname" => name).increment(1);
                let mut annotations = event.annotations.clone();
                self.add_log_tail(&mut annotations).await;
                let key = (event.project.clone(), fingerprint(&event.labels));
                let alert = match self.firing.get(&key) {
                    // A repeat: the same alert, with what is new about it.
                    Some(existing) => Alert {
                        annotations,
                        ..existing.clone()
                    },
                    None => Alert::firing(event.labels.clone(), annotations, event.at),
                };
                changes.push(change_of(&event.project, &alert));
                self.routing.ingest(&event.project, &alert, now);
                self.last_fired.insert(key.clone(), event.at);
                self.firing.insert(key, alert);
            }
            AlertEventStatus::ResolveJob => {
                let Some(job) = event.labels.get("job") else {
                    return;
                };
                let resolved: Vec<(String, String)> = self
                    .firing
                    .iter()
                    .filter(|((project, _), alert)| {
                        *project == event.project && alert.labels.get("job") == Some(job)
                    })
                    .map(|(key, _)| key.clone())
                    .collect();
                for key in resolved {
                    self.last_fired.remove(&key);
                    if let Some(mut alert) = self.firing.remove(&key) {
                        alert.resolved_at = Some(event.at);
                        changes.push(change_of(&key.0, &alert));
                        self.routing.ingest(&key.0, &alert, now);
                    }
                }
            }
        }
    }

    /// Quotes the end of a failed attempt's log in its alert.
    async fn add_log_tail(&self, annotations: &mut LabelMap) {
        let ids = annotations
            .get("run_id")
            .and_then(|r| r.parse::<i64>().ok())
            .zip(
                annotations
                    .get("task_instance_id")
                    .and_then(|t| t.parse::<i64>().ok()),
            );
        let Some((run, task)) = ids else {
            return;
        };
        match self
            .store
            .log_tail(RunId(run), TaskInstanceId(task), LOG_TAIL_LINES)
            .await
        {
            Ok(lines) if !lines.is_empty() => {
                annotations.insert("log_tail".to_owned(), lines.join("\n"));
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot read a failed attempt's log for its alert")
            }
        }
    }

    /// Resolves alerts about events (not conditions) an hour after they last fired.
    fn expire_event_alerts(&mut self, changes: &mut Vec<AlertChange>, now: DateTime<Utc>) {
        let expired: Vec<(String, String)> = self
            .firing
            .iter()
            .filter(|(key, alert)| {
                let last = self
                    .last_fired
                    .get(*key)
                    .copied()
                    .unwrap_or(alert.starts_at);
                matches!(
                    AlertName::parse(alert.label("alertname")),
                    Some(AlertName::LeaderChanged | AlertName::WorkerLost)
                ) && last + EVENT_ALERT_TTL <= now
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            self.last_fired.remove(&key);
            if let Some(mut alert) = self.firing.remove(&key) {
                alert.resolved_at = Some(now);
                changes.push(change_of(&key.0, &alert));
                self.routing.ingest(&key.0, &alert, now);
            }
        }
    }

    async fn silences(
        &self,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, Vec<Silence>>, StoreError> {
        let mut by_project: BTreeMap<String, Vec<Silence>> = BTreeMap::new();
        for record in self.store.live_silences(now).await? {
            by_project.entry(record.project).or_default().push(Silence {
                id: record.id,
                matchers: Matchers(record.matchers),
                starts_at: record.starts_at,
                ends_at: record.ends_at,
            });
        }
        Ok(by_project)
    }

    /// How long to sleep: until the next group is due, at most a pass interval.
    fn wait(&self) -> Duration {
        let now = self.clock.now();
        let until_flush = self
            .routing
            .next_flush()
            .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO));
        let wait = until_flush.map_or(self.config.pass_interval, |d| {
            d.min(self.config.pass_interval)
        });
        wait.max(Duration::from_millis(20))
    }
}

fn change_of(project: &str, alert: &Alert) -> AlertChange {
    AlertChange {
        project: project.to_owned(),
        fingerprint: alert.fingerprint.clone(),
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at: alert.starts_at,
        resolved_at: alert.resolved_at,
    }
}
