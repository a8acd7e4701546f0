//! `WorkerConfig`: the worker's name, capacity, limits and timings.

use orrery_proto::Capacity;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a worker needs to know about itself; built once at start and passed down.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerConfig {
    /// Shown by the scheduler; need not be unique.
    pub name: String,
    /// How many attempts may run at once.
    pub slots: u32,
    /// Stable id; `None` reads (or creates) `work_dir/worker-id`.
    pub worker_id: Option<String>,
    /// Tasks that name a group run only on workers of that group (`default` if empty).
    pub group: String,
    pub labels: BTreeMap<String, String>,
    /// CPU offered to tasks, in millicores; 0 means "do not account CPU".
    pub cpu_millis: u32,
    /// Memory offered to tasks; 0 means "do not account memory".
    pub memory_bytes: u64,
    pub gpus: u32,
    pub disk_bytes: u64,
    /// Longest pause between attempts to reach a scheduler.
    pub reconnect_max_delay: Duration,
    /// Each attempt's `$ORRERY_OUTPUT` file is made in it.
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
    /// Time between heartbeats until the scheduler names its own interval.
    pub heartbeat_interval: Duration,
    /// An unacknowledged `TaskFinished` is re-sent this often.
    pub result_resend_interval: Duration,
    /// Open files allowed to each attempt (`RLIMIT_NOFILE`, soft and hard), capped at the
    /// worker's own hard limit.
    pub nofile_limit: u64,
    /// Variables of the worker's own environment that attempts inherit; everything else
    /// is scrubbed. A missing `PATH` is replaced by a standard one.
    pub env_allow: Vec<String>,
    /// Run each process attempt in its own cgroup, for limits and usage, when the host
    /// allows it; without, attempts run unlimited and report only their wall time.
    pub cgroups: bool,
    /// Where attempt cgroups are made: under the worker's own cgroup, or, starting with
    /// `/`, at that path from the hierarchy root (for a group delegated by the service
    /// manager). The worker makes it when it starts if it is missing, and leaves it in
    /// place.
    pub cgroup_parent: String,
    /// `pids.max` of each attempt's cgroup; 0 leaves attempts without a pids group.
    pub pids_limit: u32,
    /// The account attempts run as when their task names no `run_as:` (`None`: the
    /// worker's own).
    pub task_user: Option<String>,
}

/// Worker variables attempts inherit unless configured otherwise.
pub(crate) const DEFAULT_ENV_ALLOW: [&str; 9] = [
    "PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR",
];

impl WorkerConfig {
    /// A configuration with the default limits and timings.
    pub fn new(name: impl Into<String>, work_dir: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            slots: 16,
            worker_id: None,
            group: String::new(),
            labels: BTreeMap::new(),
            cpu_millis: 0,
            memory_bytes: 0,
            gpus: 0,
            disk_bytes: 0,
            reconnect_max_delay: Duration::from_secs(5),
            work_dir: work_dir.into(),
            max_log_bytes: 10 * 1024 * 1024,
            max_line_bytes: 64 * 1024,
            max_output_bytes: 1024 * 1024,
            kill_grace: Duration::from_secs(5),
            log_batch_lines: 256,
            log_flush_interval: Duration::from_millis(100),
            heartbeat_interval: Duration::from_secs(5),
            result_resend_interval: Duration::from_secs(3),
            nofile_limit: 65_536,
            env_allow: DEFAULT_ENV_ALLOW.map(str::to_owned).to_vec(),
            cgroups: true,
            cgroup_parent: "orrery".to_owned(),
            pids_limit: 4096,
            task_user: None,
        }
    }

    /// The capacity announced at registration.
    pub fn capacity(&self) -> Capacity {
        Capacity {
            slots: self.slots,
            cpu_millis: self.cpu_millis,
            memory_bytes: self.memory_bytes,
            gpus: self.gpus,
            disk_bytes: self.disk_bytes,
        }
    }
}
