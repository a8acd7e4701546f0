//! Per-attempt isolation and resource accounting: a scrubbed environment, rlimits and a
//! session of its own, a cgroup with limits and usage, another user, a sandbox.

mod attempt;
mod byte_size;
mod cgroup;
mod environment;
mod error;
mod pre_exec;
mod rlimits;
mod run_as;
mod sandbox;

pub(crate) use attempt::{AttemptIsolation, AttemptPaths};
pub(crate) use byte_size::{format_limit, format_measured};
pub(crate) use cgroup::{Measurement, OomEvidence};
pub(crate) use error::IsolationError;
pub(crate) use pre_exec::install as install_child_setup;
