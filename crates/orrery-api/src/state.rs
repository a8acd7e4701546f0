//! What every handler shares.

use orrery_core::clock::Clock;
use orrery_store::{ApiIntents, ApiReads};
use std::sync::Arc;
use tokio::sync::Notify;

/// API settings.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest accepted request body (a spec or a run request).
    pub max_body_bytes: usize,
    /// How often a followed log checks for new lines.
    pub log_follow_interval: std::time::Duration,
    /// Zone of schedules that name none.
    pub default_timezone: chrono_tz::Tz,
    /// Most runs one backfill may create.
    pub max_backfill_runs: usize,
    /// How late a fire may be and still run as usual, for schedules that set none.
    pub misfire_threshold: std::time::Duration,
    /// `/readyz` fails when this node's scheduler loop has not turned for this long.
    pub max_scheduler_silence: std::time::Duration,
    /// The address users reach this server at (`--external-url`), for links and the
    /// SSO return address; without it the request's `Host` is used.
    pub external_url: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            log_follow_interval: std::time::Duration::from_millis(200),
            default_timezone: chrono_tz::Tz::UTC,
            max_backfill_runs: 10_000,
            max_scheduler_silence: std::time::Duration::from_secs(10),
            misfire_threshold: std::time::Duration::from_secs(5),
            external_url: None,
        }
    }
}

/// See [`AppState::hand_over_run`]: the run, its job's spec, its attempts' ids.
pub type HandOverRun = dyn Fn(
        orrery_store::records::RunRecord,
        Arc<orrery_core::spec::JobSpec>,
        Vec<orrery_core::ids::TaskInstanceId>,
    ) -> bool
    + Send
    + Sync;

/// Shared handler state.
#[derive(Clone)]
pub struct AppState {
    /// What the API reads.
    pub reads: ApiReads,
    /// The intents the API writes.
    pub intents: ApiIntents,
    /// Writes run starts in batches (see [`crate::RunIntake`]).
    pub run_intake: crate::RunIntake,
    pub clock: Arc<dyn Clock>,
    /// Wake-up hint for the scheduler after writing an intent (new run, cancel).
    pub scheduler_wake: Arc<Notify>,
    /// Hands a run just stored to this process's scheduler, which starts it without
    /// reading it back; false when this process has no leading scheduler (the API
    /// then wakes the scheduler through `scheduler_wake`).
    pub hand_over_run: Arc<HandOverRun>,
    /// Renders the process's metrics in the Prometheus text format.
    pub render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// How long this node's scheduler loop has not turned, when it runs one.
    pub scheduler_silence: Arc<dyn Fn() -> Option<std::time::Duration> + Send + Sync>,
    pub config: ApiConfig,
    /// Seals secret values before they are stored; without it secrets cannot be set.
    pub secrets: Option<Arc<orrery_access::Keyring>>,
    /// Signs users in through an OpenID Connect provider, when configured.
    pub oidc: Option<Arc<orrery_access::OidcProvider>>,
}
