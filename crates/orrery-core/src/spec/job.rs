//! The validated job spec type. It serializes back to the same schema users write,
//! which is also the canonical form stored per job version.

use super::job_alerts::{JobAlerts, SlaSpec};
use super::params::ParamSpec;
use super::task_spec::TaskSpec;
use crate::duration::HumanDuration;
use crate::schedule::ScheduleSpec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Project a job belongs to when its spec names none.
pub const DEFAULT_PROJECT: &str = "default";

/// A whole job: a DAG of tasks with default params. Only produced by
/// [`crate::spec::parse_job_spec`], so holding one means it is valid
/// (names well-formed and unique, references resolved, no cycle).
///
/// Serialized, `params` holds plain params as their value and typed ones as their
/// declaration (`{type: int, default: 10}`), the way specs are written.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub project: String,
    pub description: Option<String>,
    /// Default params: every plain param, and each typed param that has a default.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Params declared with a type (`{type: string, required: true}`), by name.
    pub param_types: BTreeMap<String, ParamSpec>,
    pub tasks: Vec<TaskSpec>,
    /// When the job fires on its own; `None` for a job that only runs when asked.
    pub schedule: Option<ScheduleSpec>,
    /// Longest a whole run may take.
    pub timeout: Option<HumanDuration>,
    /// A task of `tasks`, without dependencies and that nothing depends on, run only
    /// when the run has failed.
    pub on_failure: Option<String>,
    /// Like `on_failure`, run only when the run has succeeded.
    pub on_success: Option<String>,
    /// Severity and labels of the job's alerts.
    pub alerts: Option<JobAlerts>,
    /// Deadlines whose miss raises `SlaMissed`.
    pub sla: Option<SlaSpec>,
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

    /// Whether `name` is the job's `on_failure` or `on_success` handler.
    pub fn is_handler(&self, name: &str) -> bool {
        self.on_failure.as_deref() == Some(name) || self.on_success.as_deref() == Some(name)
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

/// A param as written: a typed declaration or a plain default.
#[derive(Serialize)]
#[serde(untagged)]
enum ParamEntry<'a> {
    Typed(&'a ParamSpec),
    Plain(&'a serde_json::Value),
}

/// The written shape of a [`JobSpec`], borrowed for serializing.
#[derive(Serialize)]
struct JobDocumentRef<'a> {
    name: &'a str,
    project: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    params: BTreeMap<&'a str, ParamEntry<'a>>,
    tasks: &'a [TaskSpec],
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<&'a ScheduleSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<HumanDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_failure: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_success: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alerts: Option<&'a JobAlerts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sla: Option<&'a SlaSpec>,
}

/// The written shape of a [`JobSpec`], owned for deserializing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobDocument {
    name: String,
    project: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    tasks: Vec<TaskSpec>,
    #[serde(default)]
    schedule: Option<ScheduleSpec>,
    #[serde(default)]
    timeout: Option<HumanDuration>,
    #[serde(default)]
    on_failure: Option<String>,
    #[serde(default)]
    on_success: Option<String>,
    #[serde(default)]
    alerts: Option<JobAlerts>,
    #[serde(default)]
    sla: Option<SlaSpec>,
}

impl Serialize for JobSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut params: BTreeMap<&str, ParamEntry<'_>> = self
            .params
            .iter()
            .map(|(key, value)| (key.as_str(), ParamEntry::Plain(value)))
            .collect();
        for (key, param) in &self.param_types {
            params.insert(key.as_str(), ParamEntry::Typed(param));
        }
        JobDocumentRef {
            name: &self.name,
            project: &self.project,
            description: self.description.as_deref(),
            params,
            tasks: &self.tasks,
            schedule: self.schedule.as_ref(),
            timeout: self.timeout,
            on_failure: self.on_failure.as_deref(),
            on_success: self.on_success.as_deref(),
            alerts: self.alerts.as_ref(),
            sla: self.sla.as_ref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JobSpec {
    /// Reads the written shape without validating it: a mapping param with a `type`
    /// key is a typed param, anything else a plain default. Use
    /// [`crate::spec::parse_job_spec`] for specs that are not known to be valid.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = JobDocument::deserialize(deserializer)?;
        let mut params = BTreeMap::new();
        let mut param_types = BTreeMap::new();
        for (key, value) in document.params {
            if value.get("type").is_some() {
                let param: ParamSpec = serde_json::from_value(value)
                    .map_err(|error| serde::de::Error::custom(format!("params.{key}: {error}")))?;
                if let Some(default) = &param.default {
                    params.insert(key.clone(), default.clone());
                }
                param_types.insert(key, param);
            } else {
                params.insert(key, value);
            }
        }
        Ok(JobSpec {
            name: document.name,
            project: document.project,
            description: document.description,
            params,
            param_types,
            tasks: document.tasks,
            schedule: document.schedule,
            timeout: document.timeout,
            on_failure: document.on_failure,
            on_success: document.on_success,
            alerts: document.alerts,
            sla: document.sla,
        })
    }
}
