//! One task of a job as validated: what it runs and the policies around it.

use super::placement::{DispatchMode, IsolationMode, ResourceRequest, WorkerSelector};
use super::policy::{ForEach, RetryBackoff, RetryOn, TriggerRule};
use super::task_kind::TaskKind;
use crate::duration::HumanDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::num::NonZeroU32;

/// One task of a job.
///
/// No `deny_unknown_fields` here: serde does not support it together with the
/// flattened `kind` (it would reject `script` and `command`). Unknown fields are
/// rejected by [`crate::spec::parse_job_spec`], the way specs enter the system.
///
/// Fields added after the first release have serde defaults, so canonical JSON stored
/// before them still reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: TaskKind,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<HumanDuration>,
    /// How the delay grows between attempts; see [`crate::retry::retry_delay_for`].
    #[serde(default)]
    pub retry_backoff: RetryBackoff,
    /// Longest delay of exponential backoff (1h when unset); only with `exponential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_max_delay: Option<HumanDuration>,
    /// Whether each delay is spread by ±20%.
    #[serde(default)]
    pub retry_jitter: bool,
    /// Outcomes that are retried: never empty, no repeats, in [`RetryOn::ALL`] order.
    #[serde(default = "RetryOn::all")]
    pub retry_on: Vec<RetryOn>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub trigger_rule: TriggerRule,
    /// A condition (a minijinja expression, without `{{ }}`); false skips the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Higher runs first when worker slots are scarce; -1000..=1000.
    #[serde(default)]
    pub priority: i32,
    /// Fan-out: one mapped instance of the task per item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Most mapped instances running at once; only with `for_each`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<NonZeroU32>,
    /// Which workers may run the task; any when empty.
    #[serde(default, skip_serializing_if = "WorkerSelector::is_any")]
    pub worker: WorkerSelector,
    /// What each instance asks of its worker.
    #[serde(default, skip_serializing_if = "ResourceRequest::is_empty")]
    pub resources: ResourceRequest,
    #[serde(default, skip_serializing_if = "is_default")]
    pub isolation: IsolationMode,
    /// Keep the network in the sandbox; only true with [`IsolationMode::Sandbox`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub network: bool,
    /// Run the process as this user instead of the worker's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    /// One instance, or one on every matching worker; broadcast never with `for_each`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub dispatch: DispatchMode,
    /// A template rendered per run, for keeping runs with the same key on the same
    /// worker; never with broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_key: Option<String>,
}

/// Whether a field holds its default, so that canonical JSON leaves it out and reads
/// the same as before the field existed.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Priority bounds, inclusive.
pub const MIN_PRIORITY: i32 = -1000;
pub const MAX_PRIORITY: i32 = 1000;
