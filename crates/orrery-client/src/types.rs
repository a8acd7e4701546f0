//! Request and response bodies of the REST API (`/api/v1`). These are the public
//! contract: core and store types are converted into them at the API edge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Result of applying one spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplyResult {
    /// `Job`, `Calendar`, `Receiver` or `AlertRoute`.
    #[serde(default = "default_kind")]
    pub kind: String,
    pub project: String,
    pub job: String,
    pub version: u32,
    /// `created`, `updated` (a new version) or `unchanged`.
    pub status: ApplyStatus,
    /// What works but is unsafe (a param written into shell code unquoted), each with
    /// its field path; the spec was applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldError>,
}

fn default_kind() -> String {
    "Job".to_owned()
}

/// What `apply` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStatus {
    Created,
    Updated,
    Unchanged,
}

/// A job in a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobSummary {
    pub project: String,
    pub name: String,
    pub description: Option<String>,
    pub latest_version: u32,
    pub n_tasks: u32,
    /// Scheduled fires are stopped (`orrery job pause`).
    #[serde(default)]
    pub paused: bool,
    /// The schedule in one line (`cron 0 2 * * * Asia/Shanghai`), if the job has one.
    #[serde(default)]
    pub schedule: Option<String>,
    /// When the schedule fires next, if it has more fires.
    #[serde(default)]
    pub next_fire_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobVersionInfo {
    pub version: u32,
    pub created_at: DateTime<Utc>,
    /// Who applied it (`user:ann`, `token:ci`).
    #[serde(default)]
    pub created_by: String,
    /// SHA-256 of the canonical spec, hex: equal hashes, equal specs.
    #[serde(default)]
    pub spec_sha256: String,
    /// The canonical spec of this version.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

/// A job with all its versions, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub summary: JobSummary,
    pub versions: Vec<JobVersionInfo>,
    /// For a scheduled job: its misfire policy and how late a fire may be before the
    /// policy applies (`run_once after 5s`, `skip after 30s (the schedule's own)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misfire: Option<String>,
}

/// Body of `POST /api/v1/jobs/{name}/rollback`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The version whose spec becomes the job's new latest version.
    pub to: u32,
    /// The job's project; default `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

/// Body of `POST /api/v1/jobs/{name}/runs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRunRequest {
    /// Overrides of the job's default params.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Project of the job; default `default`.
    #[serde(default)]
    pub project: Option<String>,
    /// The run's logical date; by default the latest due fire of a scheduled job (its
    /// data interval too), or the run's start for a job without a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_date: Option<DateTime<Utc>>,
}

/// One run with its task instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub project: String,
    pub job: String,
    pub job_version: u32,
    /// queued, running, success, failed or cancelled.
    pub state: String,
    /// `manual` for runs started through the API.
    pub trigger: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    /// The fire time of a scheduled or backfilled run.
    #[serde(default)]
    pub logical_date: Option<DateTime<Utc>>,
    /// When the fire was due (scheduled runs).
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_interval_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_interval_end: Option<DateTime<Utc>>,
    /// The run this one reruns (same logical date).
    #[serde(default)]
    pub rerun_of: Option<i64>,
    /// For a sub-workflow: the run whose `type: job` task started this one.
    #[serde(default)]
    pub parent_run_id: Option<i64>,
    /// First task start minus `scheduled_at`, in milliseconds (scheduled runs).
    #[serde(default)]
    pub lateness_ms: Option<i64>,
    /// Every attempt of every task, in task order then attempt order; empty in listings.
    #[serde(default)]
    pub tasks: Vec<TaskInstance>,
}

/// One attempt of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskInstance {
    pub id: i64,
    pub task: String,
    pub attempt: u32,
    /// pending, retry_wait, queued, assigned, running, success, failed, timed_out,
    /// lost, cancelled, skipped or upstream_failed.
    pub state: String,
    pub exit_code: Option<i32>,
    pub outputs: BTreeMap<String, String>,
    pub error: Option<String>,
    /// Name of the worker the attempt was assigned to.
    pub worker: Option<String>,
    /// Stable id of that worker.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Why a queued attempt is not placed yet (e.g. no worker in its group has a GPU).
    #[serde(default)]
    pub waiting_reason: Option<String>,
    /// CPU time of the attempt's processes, when the worker measured it (cgroups).
    #[serde(default)]
    pub cpu_time_ms: Option<u64>,
    /// Peak memory of the attempt's processes, when measured.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    pub queued_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When a `retry_wait` attempt becomes due.
    pub retry_at: Option<DateTime<Utc>>,
}

/// A page of a listing; pass `next_cursor` as `cursor` to get the next one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunPage {
    pub items: Vec<Run>,
    pub next_cursor: Option<String>,
}

/// One captured log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// Increases within a run; pass the last one seen as `after` to resume.
    pub seq: i64,
    pub task: String,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// stdout, stderr or system.
    pub stream: String,
    pub text: String,
}

/// An RFC 9457 problem document; every API error has this shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// Stable, machine-readable: `invalid_spec`, `not_found`, `payload_too_large`, ...
    pub code: String,
    pub detail: String,
    /// For spec and parameter errors, one entry per problem.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One problem with one field of the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// e.g. `tasks[1].timeout`; empty for the whole document.
    pub path: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// `GET /healthz` and `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// What became of one nominal fire of a scheduled job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Occurrence {
    /// The fire time the schedule called for.
    pub nominal_at: DateTime<Utc>,
    /// fired, skipped_overlap, missed, excluded or paused.
    pub outcome: String,
    /// The run it started, when it fired.
    pub run_id: Option<i64>,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/jobs/{name}/backfill`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    /// First fire time to include (inclusive).
    pub from: DateTime<Utc>,
    /// Last fire time to include (inclusive).
    pub to: DateTime<Utc>,
    /// Most runs of this backfill active at once; default 1.
    #[serde(default)]
    pub parallelism: Option<u32>,
    /// Also rerun fires whose latest run failed or was cancelled.
    #[serde(default)]
    pub rerun_failed: bool,
    #[serde(default)]
    pub project: Option<String>,
}

/// What a backfill created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BackfillResult {
    /// `None` when every fire in the range already had a run (nothing was created).
    pub backfill_id: Option<i64>,
    /// Fire times in the range.
    pub fires: u32,
    /// Runs created now (fires that had no run yet).
    pub created: u32,
    /// Fires that already had a run (a repeated backfill creates nothing new).
    pub existing: u32,
    /// Fires on dates an `exclude:` calendar rules out: no run, recorded `excluded`.
    #[serde(default)]
    pub excluded: u32,
    pub run_ids: Vec<i64>,
}

/// Body of `POST /api/v1/runs/{id}/rerun`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunRequest {
    /// Keep the tasks that succeeded (and their outputs); rerun the rest and what
    /// depends on them.
    #[serde(default)]
    pub from_failed: bool,
}

/// Body of `POST /api/v1/runs/{id}/tasks/{task}/retry`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRetryRequest {
    /// Also rerun every task downstream of it (those that never ran always are).
    #[serde(default)]
    pub downstream: bool,
}

/// Body of `POST /api/v1/runs/{id}/tasks/{task}/mark`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskMarkRequest {
    /// `success` or `skipped`.
    pub state: String,
}

/// A job's DAG, for drawing; with a run, each node carries its state there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Graph {
    pub job: String,
    pub version: u32,
    pub run_id: Option<i64>,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// One task of a graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GraphNode {
    pub name: String,
    #[serde(rename = "type")]
    pub task_type: String,
    /// State of the task's latest attempt in the run, when a run was given.
    pub state: Option<String>,
}

/// `from` must finish before `to` starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
}

/// A worker as the scheduler last recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkerInfo {
    /// Stable id the worker keeps across restarts.
    pub id: String,
    pub name: String,
    pub group: String,
    pub labels: BTreeMap<String, String>,
    /// Attempts it runs at once.
    pub slots: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub gpus: u32,
    pub disk_bytes: u64,
    /// The worker's Orrery version.
    pub version: String,
    /// connected, disconnected, draining, drained or lost.
    pub state: String,
    /// Attempts running on it.
    pub running: u32,
    pub registered_at: DateTime<Utc>,
    pub last_heartbeat_at: DateTime<Utc>,
    /// A drain was asked for (it may not be draining yet).
    pub drain_requested: bool,
}

/// Body of `GET /api/v1/cluster`: the scheduler lease and every server node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterStatus {
    /// The scheduler lease; `null` when no scheduler has ever claimed it.
    pub lease: Option<LeaseInfo>,
    /// Every node that reported itself, by name.
    pub nodes: Vec<ClusterNode>,
}

/// The scheduler lease as the database holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseInfo {
    /// The holder (one node's process) that claimed it last.
    pub holder: String,
    /// Grows by one each time the lease changes hands.
    pub epoch: i64,
    /// The lease is held while `expires_at` is after the database's clock.
    pub expires_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    /// The database's clock when the lease was read; states and ages are judged by it.
    pub db_now: DateTime<Utc>,
}

/// One server process of the cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterNode {
    pub name: String,
    /// Unique per process start; the lease names it when this node leads.
    pub holder: String,
    /// `host:port` of its HTTP API, when it serves one.
    pub api_address: Option<String>,
    /// `host:port` workers connect to, when it runs a scheduler.
    pub grpc_address: Option<String>,
    /// `api`, `scheduler`, `worker`.
    pub roles: Vec<String>,
    /// The node's Orrery version.
    pub version: String,
    pub started_at: DateTime<Utc>,
    /// Its last report, by the database's clock (nodes report about twice a second).
    pub last_seen_at: DateTime<Utc>,
    pub state: NodeState,
    /// Seconds from `last_seen_at` to the time the status was read (millisecond
    /// precision, never negative).
    pub seconds_since_seen: f64,
}

/// What a node is to the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// It holds the unexpired scheduler lease.
    Leader,
    /// It reports itself but does not lead.
    Standby,
    /// It has not reported for more than 10 seconds.
    Gone,
}

impl NodeState {
    /// The state as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Leader => "leader",
            NodeState::Standby => "standby",
            NodeState::Gone => "gone",
        }
    }
}

/// Body of `POST /api/v1/tokens`. `user` makes a personal token carrying that user's
/// roles; `project` with `role` a project's service token; `kind: worker` a worker
/// token; `kind: api` alone a service token of project `default` with role `editor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// 1 to 64 of `A-Z a-z 0-9 _ . -`; recorded as the actor of what the token does.
    #[serde(default)]
    pub name: String,
    /// `worker` (connects workers only) or `api` (the HTTP API); may be left out with
    /// `user` or `project`.
    #[serde(default)]
    pub kind: String,
    /// The user a personal token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The project of a service token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// A service token's role: `viewer`, `operator`, `editor` or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// How long the token works, as a duration (`30d`, `12h`); absent: until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// A new token. The secret is shown only in this answer; the server keeps a hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    pub secret: String,
}

/// A token as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// A personal token's user.
    pub user: Option<String>,
    /// A service token's project and role.
    pub project: Option<String>,
    pub role: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Noted at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A project: a tenant owning jobs, runs, calendars, members and service tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Body of `POST /api/v1/projects`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    /// 1 to 63 of `a-z 0-9 . _ -`, starting with a letter or digit (as a spec's `project:`).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Body of `PATCH /api/v1/projects/{name}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    pub description: Option<String>,
}

/// A user; never its password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub name: String,
    pub cluster_admin: bool,
    /// False for users who sign in only through SSO.
    pub has_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/users`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// 1 to 64 of `A-Z a-z 0-9 _ . @ -`.
    #[serde(default)]
    pub name: String,
    /// At least 8 characters; absent for a user who signs in only through SSO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default)]
    pub cluster_admin: bool,
}

/// Leaves the password out, so a logged request does not leak it.
impl std::fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserRequest")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("cluster_admin", &self.cluster_admin)
            .finish()
    }
}

/// A user's or an SSO group's role in a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub project: String,
    /// Set for a user member.
    pub user: Option<String>,
    /// Set for an SSO group member.
    pub group: Option<String>,
    pub role: String,
    pub added_at: DateTime<Utc>,
}

/// Body of `POST /api/v1/projects/{name}/members`: one of `user` or `group`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMemberRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `viewer`, `operator`, `editor` or `admin`.
    #[serde(default)]
    pub role: String,
}

/// Leaves the secret out, so a logged token does not leak it.
impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One audited change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `user:NAME` or `token:NAME` (or `scheduler`).
    pub actor: String,
    /// The project of the changed object; absent for cluster objects.
    pub project: Option<String>,
    /// `job.create`, `run.cancel`, `member.set`, …
    pub action: String,
    /// The changed object: `job/PROJECT/NAME`, `run/ID`, `user/NAME`, …
    pub resource: String,
    pub before_version: Option<u32>,
    pub after_version: Option<u32>,
    /// The API request that made it (its `X-Request-Id`) and the client's address.
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    /// The row's link in the hash chain.
    pub hash: Option<String>,
}

/// A page of audit rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// What checking the audit log's hash chain found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// True when every chained row matches its hash and follows the row before it.
    pub intact: bool,
    /// Rows whose hash was checked.
    pub checked: u64,
    /// Rows from before the log was chained (they carry no hash).
    pub unchained: u64,
    /// The first row that does not match.
    pub first_broken: Option<BrokenAuditRow>,
}

/// A row of the audit log that breaks the chain, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BrokenAuditRow {
    pub id: i64,
    pub reason: String,
}

/// Body of `POST /api/v1/auth/login`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Leaves the password out, so a logged request does not leak it.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Body of `POST /api/v1/auth/oidc/exchange`: the one-time code the server sent to
/// the command line's loopback address after an SSO sign-in, and the verifier whose
/// SHA-256 the command line sent when the sign-in began.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcExchange {
    pub code: String,
    pub verifier: String,
}

/// Leaves both values out, so a logged request does not leak them.
impl std::fmt::Debug for OidcExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcExchange").finish_non_exhaustive()
    }
}

/// A signed-in session: a short-lived personal token of the user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginSession {
    pub user: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Leaves the token out, so a logged session does not leak it.
impl std::fmt::Debug for LoginSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSession")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Body of `PUT /api/v1/projects/{project}/secrets/{name}`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSecretRequest {
    pub value: String,
}

/// Leaves the value out, so a logged request does not leak it.
impl std::fmt::Debug for SetSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetSecretRequest")
            .field("value", &"<redacted>")
            .finish()
    }
}

/// A secret as listed: never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretInfo {
    pub project: String,
    pub name: String,
    /// Grows by one at each `secret set`.
    pub version: u32,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// What `POST /api/v1/secrets/rotate-key` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretRotation {
    /// The id of the key every secret is now sealed under (a hash, not the key).
    pub key_id: String,
    /// Secrets re-sealed under it.
    pub resealed: u32,
    /// Secrets already sealed under it.
    pub current: u32,
    /// Secrets that could not be opened (left as they were), each with why.
    pub failed: Vec<FieldError>,
}

/// Who a token stands for and what it may do: `GET /api/v1/auth/whoami`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    /// How the audit log names the caller: `user:NAME` or `token:NAME`.
    pub actor: String,
    /// `cluster_admin`, `user`, `service` or `cluster_editor`.
    pub kind: String,
    pub cluster_admin: bool,
    /// The caller's role in each project it can see; absent when it sees every
    /// project (a cluster admin or cluster-wide editor) with one role.
    pub roles: BTreeMap<String, String>,
}

/// An alert, firing or resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertInfo {
    pub id: i64,
    pub project: String,
    pub alertname: String,
    /// `firing` or `resolved`.
    pub state: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub fingerprint: String,
}

/// One notification of the outbox: where it went and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationInfo {
    pub id: i64,
    pub project: String,
    pub receiver: String,
    pub dedup_key: String,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub alerts: u32,
    pub last_error: Option<String>,
    /// What the receiver answered when it took the message.
    pub response: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A silence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SilenceInfo {
    pub id: i64,
    pub project: String,
    pub matchers: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    pub created_by: String,
    /// `active` or `expired`.
    pub state: String,
}

/// `POST /api/v1/projects/{name}/silences`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateSilenceRequest {
    /// Labels an alert must all have to be muted (`job: nightly-etl`).
    pub matchers: BTreeMap<String, String>,
    /// How long from now (`2h`).
    pub duration: String,
    pub comment: String,
}

/// An applied receiver or alert route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AlertConfigInfo {
    pub project: String,
    /// `Receiver` or `AlertRoute`.
    pub kind: String,
    pub name: String,
    /// `webhook`, `email`, … for a receiver.
    pub channel: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// What `receiver test` got back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiverTestResult {
    pub receiver: String,
    pub sent: bool,
    /// The service's answer, or why it could not be sent.
    pub answer: String,
}
