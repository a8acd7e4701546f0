//! Where and how a task runs on workers: the workers it needs, the resources it asks
//! for, its isolation and how many instances are dispatched.

use super::policy::spec_enum;
use super::quantity::parse_cpu_millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which workers may run a task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSelector {
    /// Only workers of this group (a name like a task's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only workers that have every one of these labels, with the same value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl WorkerSelector {
    /// Whether the selector names neither a group nor labels (the spec had no `worker:`).
    pub fn is_any(&self) -> bool {
        self.group.is_none() && self.labels.is_empty()
    }
}

/// What one instance of a task asks of its worker.
///
/// Written in canonical JSON the way a spec may write it: `cpu` as millicores
/// (`"500m"`), `memory` as a number of bytes, `gpu` as a count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRequest {
    /// CPU in millicores (1000 is one core); when set, from 1 to 1024 cores.
    #[serde(
        rename = "cpu",
        default,
        skip_serializing_if = "Option::is_none",
        with = "millicores"
    )]
    pub cpu_millis: Option<u32>,
    /// Memory in bytes; when set, more than zero.
    #[serde(rename = "memory", default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Whole GPUs; 0 asks for none.
    #[serde(rename = "gpu", default, skip_serializing_if = "is_zero")]
    pub gpus: u32,
}

impl ResourceRequest {
    /// Whether nothing is asked for (the spec had no `resources:`, or an empty one).
    pub fn is_empty(&self) -> bool {
        self.cpu_millis.is_none() && self.memory_bytes.is_none() && self.gpus == 0
    }
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

spec_enum! {
    /// How a task's process is isolated on its worker, beyond its own process group.
    IsolationMode {
        /// No more than its own process group and session.
        None => "none",
        /// A sandbox: read-only system, private /tmp and working directory, and no
        /// network unless the task sets `network: true`.
        Sandbox => "sandbox",
    }
    default None
}

spec_enum! {
    /// How many instances of a task are dispatched to workers.
    DispatchMode {
        /// One instance, on any one matching worker.
        Any => "any",
        /// One instance on every matching worker.
        Broadcast => "broadcast",
    }
    default Any
}

/// `cpu` in canonical JSON: millicores as `"500m"`, which a spec reads back the same.
mod millicores {
    use super::parse_cpu_millis;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        millis: &Option<u32>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match millis {
            Some(millis) => serializer.collect_str(&format_args!("{millis}m")),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u32>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| parse_cpu_millis(&text).map_err(D::Error::custom))
            .transpose()
    }
}
