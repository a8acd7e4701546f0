//! Per-attempt cgroups (v2, or v1 where v2 lacks the controllers): limits on memory,
//! CPU and processes, the usage measurement, OOM detection and cleanup.

mod attempt_group;
mod detect;
mod error;
mod files;
mod layout;
mod limits;
mod measurement;
mod mounts;
mod sweep;

pub(crate) use attempt_group::AttemptCgroup;
pub(crate) use detect::{CgroupSupport, cgroup_support};
pub(crate) use error::CgroupError;
pub(crate) use limits::Limits;
pub(crate) use measurement::{Measurement, OomEvidence};
