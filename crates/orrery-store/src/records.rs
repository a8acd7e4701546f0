//! What the store hands out: plain records, converted from rows in this crate and to
//! API or engine types by their users.

use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use orrery_core::state::{RunState, TaskState};
use std::collections::BTreeMap;

/// A live job and its latest spec.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub project: String,
    pub name: String,
    pub latest_version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Canonical JSON of the latest version's spec.
    pub latest_spec: String,
    /// Scheduled fires are stopped.
    pub paused: bool,
}

/// One version of a job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobVersionRecord {
    pub version: u32,
    pub spec: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A run, with the project and name of its job.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub id: RunId,
    pub job_id: JobId,
    pub project: String,
    pub job_name: String,
    pub job_version: u32,
    pub state: RunState,
    pub trigger: orrery_core::state::RunTrigger,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub logical_date: Option<DateTime<Utc>>,
    /// When the fire that made this run was due (scheduled runs only).
    pub scheduled_at: Option<DateTime<Utc>>,
    pub data_interval_start: Option<DateTime<Utc>>,
    pub data_interval_end: Option<DateTime<Utc>>,
    pub backfill_id: Option<i64>,
    /// The run this one reruns (same logical date).
    pub rerun_of: Option<RunId>,
    /// For a sub-workflow: the parent run and its task that started this one.
    pub parent_run_id: Option<RunId>,
    pub parent_task_id: Option<TaskInstanceId>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One attempt of one task. `id` is `None` until first stored.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: Option<TaskInstanceId>,
    pub run_id: RunId,
    pub task_name: String,
    pub task_idx: u32,
    /// Which mapped instance of a fan-out task this is (`name[i]`).
    pub map_index: Option<u32>,
    pub attempt: u32,
    pub state: TaskState,
    /// The current assignment's fence; reports carrying another are rejected.
    pub fence: u64,
    /// Name of the worker the attempt was assigned to, for display.
    pub worker: Option<String>,
    /// Stable id of that worker.
    pub worker_id: Option<String>,
    /// Why a queued attempt is not placed yet.
    pub waiting_reason: Option<String>,
    /// CPU time and peak memory of the attempt's process tree, when measured.
    pub cpu_time_ms: Option<u64>,
    pub peak_memory_bytes: Option<u64>,
    pub exit_code: Option<i32>,
    pub outputs: BTreeMap<String, String>,
    pub error: Option<String>,
    pub queued_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub retry_at: Option<DateTime<Utc>>,
}

impl TaskRecord {
    /// A first attempt waiting for its upstreams.
    pub fn pending(run_id: RunId, task_name: &str, task_idx: u32) -> Self {
        Self {
            id: None,
            run_id,
            task_name: task_name.to_owned(),
            task_idx,
            map_index: None,
            attempt: 1,
            state: TaskState::Pending,
            fence: 0,
            worker: None,
            worker_id: None,
            waiting_reason: None,
            cpu_time_ms: None,
            peak_memory_bytes: None,
            exit_code: None,
            outputs: BTreeMap::new(),
            error: None,
            queued_at: None,
            started_at: None,
            finished_at: None,
            retry_at: None,
        }
    }
}

/// One stored log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: i64,
    pub task_name: String,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub stream: String,
    pub text: String,
}

/// A log line to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLogLine {
    pub at: DateTime<Utc>,
    pub stream: &'static str,
    pub text: String,
}

/// An API token (its secret is kept only as a hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    /// `admin`, `api` or `worker`.
    pub kind: String,
    /// A personal token's user.
    pub user: Option<TokenUser>,
    /// A service token's project and role.
    pub project: Option<String>,
    pub role: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Neither revoked nor expired at `now`, and (for a personal token) its user is
    /// not disabled.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|at| at > now)
            && self.user.as_ref().is_none_or(|u| u.disabled_at.is_none())
    }
}

/// The user a personal token belongs to, as the token check needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUser {
    pub id: i64,
    pub name: String,
    pub cluster_admin: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The groups the user's latest SSO sign-in named; empty for local users.
    pub groups: Vec<String>,
}

/// A project: a tenant owning jobs, runs, calendars, members and service tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRecord {
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A local (or SSO-created) user; its password hash is never read out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub cluster_admin: bool,
    pub has_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A secret as listed: never its value or ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRecord {
    pub project: String,
    pub name: String,
    pub version: u32,
    /// The key that sealed the current value.
    pub key_id: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A user's or an SSO group's role in a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    pub project: String,
    /// `user` or `group`.
    pub subject_kind: String,
    pub subject: String,
    pub role: String,
    pub added_at: DateTime<Utc>,
}

/// One audited change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub before_version: Option<u32>,
    pub after_version: Option<u32>,
    /// The project of the changed object; `None` for cluster objects.
    pub project: Option<String>,
    /// The API request that made the change, and the client's address.
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    /// The chain: the previous row's hash and this row's (`None` on rows written
    /// before the log was chained).
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// Where a scheduled job's timer stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerRecord {
    /// The job version the schedule was read from.
    pub version: u32,
    /// `None` when the schedule has no more fires.
    pub next_fire_at: Option<DateTime<Utc>>,
}

/// A live job with its trigger state, for the scheduler.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledJobRecord {
    pub job: JobRecord,
    pub trigger: Option<TriggerRecord>,
}

/// What became of one nominal fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OccurrenceRecord {
    pub nominal_at: DateTime<Utc>,
    pub outcome: orrery_core::state::FireFate,
    pub run_id: Option<RunId>,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// A stored calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarRecord {
    pub project: String,
    pub name: String,
    /// Canonical JSON of its spec.
    pub spec: String,
    pub updated_at: DateTime<Utc>,
}

/// A worker as last recorded by the scheduler. `state` is one of `connected`,
/// `disconnected` (within its TTL, keeping its attempts), `draining`, `drained`, `lost`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerRecord {
    pub id: String,
    pub name: String,
    pub group: String,
    pub labels: BTreeMap<String, String>,
    pub slots: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub gpus: u32,
    pub disk_bytes: u64,
    pub version: String,
    pub state: String,
    pub running: u32,
    pub registered_at: DateTime<Utc>,
    pub last_heartbeat_at: DateTime<Utc>,
    pub drain_requested: bool,
}
