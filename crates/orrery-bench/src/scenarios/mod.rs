//! The benchmark scenarios; each runs against its own fresh server and returns its rows.

pub(crate) mod access;
pub(crate) mod alerts;
pub(crate) mod chain;
pub(crate) mod fanout;
pub(crate) mod jobs_memory;
pub(crate) mod lateness;
mod lateness_rows;
pub(crate) mod log_masking;
mod remote_cpu;
mod remote_shell;
pub(crate) mod remote_workers;
pub(crate) mod run_starts;
pub(crate) mod shell_overhead;
