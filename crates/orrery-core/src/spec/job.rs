//! The validated job spec types. They serialize back to the same schema users write,
//! which is also the canonical form stored per job version.

use crate::duration::HumanDuration;
use crate::schedule::ScheduleSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Project a job belongs to when its spec names none.
pub const DEFAULT_PROJECT: &str = "default";

/// A whole job: a DAG of tasks with default params. Only produced by
/// [`crate::spec::parse_job_spec`], so holding one means it is valid
/// (names well-formed and unique, references resolved, no cycle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    pub name: String,
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    pub tasks: Vec<TaskSpec>,
    /// When the job fires on its own; `None` for a job that only runs when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
}

impl JobSpec {
    /// The stable serialization stored per job version: fields in a fixed order, map
    /// keys sorted, durations in canonical form. Two specs that mean the same thing give
    /// the same text, so an unchanged spec is detected by comparing it. Parsing it back
    /// as JSON gives an equal spec.
    pub fn to_canonical_json(&self) -> String {
        let mut value = serde_json::to_value(self)
            // Only string-keyed maps and plain data: serializing cannot fail.
            .expect("a JobSpec always serializes to JSON");
        sort_keys(&mut value);
        value.to_string()
    }

    /// The task called `name`.
    pub fn task(&self, name: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|task| task.name == name)
    }
}

/// Sorts object keys at every depth, whatever map type serde_json was built with.
pub(crate) fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// One task of a job.
///
/// No `deny_unknown_fields` here: serde does not support it together with the
/// flattened `kind` (it would reject `script` and `command`). Unknown fields are
/// rejected by [`crate::spec::parse_job_spec`], the way specs enter the system.
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// What a task runs; `type:` in the spec selects the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskKind {
    /// `bash -c script` (templated).
    Shell { script: String },
    /// An argv run without a shell (each element templated).
    Command { command: Vec<String> },
    /// Completes at once without a process.
    Noop,
}

impl TaskKind {
    /// The spec's `type:` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            TaskKind::Shell { .. } => "shell",
            TaskKind::Command { .. } => "command",
            TaskKind::Noop => "noop",
        }
    }
}
