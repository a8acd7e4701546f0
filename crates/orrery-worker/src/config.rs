//! `WorkerConfig`: the worker's name, capacity, limits and timings.

use std::path::PathBuf;
use std::time::Duration;

/// Everything a worker needs to know about itself; built once at start and passed down.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerConfig {
    /// Shown by the scheduler; need not be unique.
    pub name: String,
    /// How many attempts may run at once.
    pub slots: u32,
    /// Per-attempt directories (holding the `$ORRERY_OUTPUT` file) are made under it.
    pub work_dir: PathBuf,
    /// Log bytes captured per attempt; the rest is dropped and a marker line says so.
    pub max_log_bytes: u64,
    /// Longer lines are cut here and marked as truncated.
    pub max_line_bytes: usize,
    /// A larger `$ORRERY_OUTPUT` file fails the attempt.
    pub max_output_bytes: u64,
    /// Time between SIGTERM and SIGKILL when an attempt is stopped.
    pub kill_grace: Duration,
    /// A log chunk is sent once it holds this many lines…
    pub log_batch_lines: usize,
    /// …or this long after the previous flush, whichever comes first.
    pub log_flush_interval: Duration,
    /// Time between heartbeats.
    pub heartbeat_interval: Duration,
    /// An unacknowledged `TaskFinished` is re-sent this often.
    pub result_resend_interval: Duration,
}

impl WorkerConfig {
    /// A configuration with the default limits and timings.
    pub fn new(name: impl Into<String>, work_dir: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            slots: 16,
            work_dir: work_dir.into(),
            max_log_bytes: 10 * 1024 * 1024,
            max_line_bytes: 64 * 1024,
            max_output_bytes: 1024 * 1024,
            kill_grace: Duration::from_secs(5),
            log_batch_lines: 256,
            log_flush_interval: Duration::from_millis(100),
            heartbeat_interval: Duration::from_secs(5),
            result_resend_interval: Duration::from_secs(3),
        }
    }
}
