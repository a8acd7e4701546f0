//! What a task runs: the `type:` of a task with the fields that belong to it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// HTTP methods an `http` task may use.
pub const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

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
    /// A Python script, inline or from a file (both templated); exactly one is set.
    Python {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        script: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
    },
    /// One HTTP request; url, header values and body are templated.
    Http {
        /// Uppercase, one of [`HTTP_METHODS`].
        #[serde(default = "default_http_method")]
        method: String,
        url: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// Accepted statuses, each 100..=599, sorted; empty means any 2xx.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        expect_status: Vec<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_json: Option<ExpectJson>,
    },
    /// A sub-workflow: starts a run of another job of the same project with these
    /// params (string values templated) and finishes with its outcome. Whether that
    /// job exists is checked when the spec is applied, not here.
    Job {
        job: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        params: BTreeMap<String, serde_json::Value>,
    },
    /// A shell script (templated) that chooses which of its downstream tasks run by
    /// writing `next=a,b` to its outputs; the names are checked at run time.
    Branch { script: String },
}

/// A check of an `http` task's JSON response body: the value at `path` must equal
/// `equals`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectJson {
    /// A JSONPath-like location starting with `$` (`$.status`, `$.items[0].id`).
    pub path: String,
    pub equals: serde_json::Value,
}

fn default_http_method() -> String {
    "GET".to_owned()
}

impl TaskKind {
    /// Every `type:` value, in the order messages list them.
    pub const TYPE_NAMES: &'static [&'static str] = &[
        "shell", "command", "noop", "python", "http", "job", "branch",
    ];

    /// The spec's `type:` value.
    pub fn type_name(&self) -> &'static str {
        match self {
            TaskKind::Shell { .. } => "shell",
            TaskKind::Command { .. } => "command",
            TaskKind::Noop => "noop",
            TaskKind::Python { .. } => "python",
            TaskKind::Http { .. } => "http",
            TaskKind::Job { .. } => "job",
            TaskKind::Branch { .. } => "branch",
        }
    }
}
