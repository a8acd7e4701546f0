//! Every flag and environment variable of the CLI, declared once.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Orrery: a distributed job scheduler and workflow engine.
#[derive(Debug, Parser)]
#[command(name = "orrery", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How client commands reach a server.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Server URL; default: the one a local server wrote to its data directory, else
    /// http://127.0.0.1:7070.
    #[arg(long, global = true, env = "ORRERY_SERVER")]
    pub(crate) server: Option<String>,
    /// API token; default: the admin token of a local server's data directory.
    #[arg(long, global = true, env = "ORRERY_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Data directory of the local server (where its token and address are found).
    /// [default: orrery-data]
    #[arg(long, global = true, env = "ORRERY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Output format of read commands.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,
}

impl GlobalArgs {
    /// The data directory given by flag or environment, if any.
    pub(crate) fn data_dir_flag(&self) -> Option<PathBuf> {
        self.data_dir.clone()
    }

    /// Where a local server keeps its data.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(orrery::config::DEFAULT_DATA_DIR))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the all-in-one server: API, scheduler and an embedded worker, on SQLite.
    Server(ServerArgs),
    /// Create or update jobs from a spec file or every spec in a directory.
    Apply(ApplyArgs),
    /// Inspect and delete jobs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Start, inspect, cancel runs and read their logs.
    #[command(subcommand)]
    Run(RunCommand),
    /// Retry or mark tasks of an ended run.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Create runs for every fire time of a job's schedule in a range.
    Backfill(BackfillArgs),
    /// Work with cron expressions locally.
    #[command(subcommand)]
    Cron(CronCommand),
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    pub(crate) job: String,
    /// First fire time (RFC 3339, e.g. 2026-01-01T00:00:00Z), inclusive.
    #[arg(long)]
    pub(crate) from: chrono::DateTime<chrono::FixedOffset>,
    /// Last fire time, inclusive.
    #[arg(long)]
    pub(crate) to: chrono::DateTime<chrono::FixedOffset>,
    /// Most runs of this backfill active at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) parallelism: u32,
    /// Also rerun fire times whose latest run failed or was cancelled.
    #[arg(long)]
    pub(crate) rerun_failed: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CronCommand {
    /// Print the next fire times of a cron expression.
    Next(CronNextArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CronNextArgs {
    /// 5 fields (minute first), 6 (second first), 7 (with year) or @daily and friends.
    pub(crate) expression: String,
    /// IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC")]
    pub(crate) tz: chrono_tz::Tz,
    /// Start after this instant (RFC 3339) [default: now].
    #[arg(long)]
    pub(crate) from: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[arg(long, default_value_t = 5)]
    pub(crate) count: usize,
}

/// Server settings. Each is taken from its flag, else its `ORRERY_*` environment
/// variable, else the config file, else the default.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// A YAML config file with any of the settings below (snake_case keys).
    #[arg(long, env = "ORRERY_CONFIG")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7070, loopback only].
    #[arg(long, env = "ORRERY_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// Tasks the embedded worker runs at once [default: 16].
    #[arg(long, env = "ORRERY_WORKER_SLOTS", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) worker_slots: Option<u32>,
    /// Log bytes kept per task attempt; the rest is dropped with a marker [default: 10 MiB].
    #[arg(long, env = "ORRERY_MAX_LOG_BYTES")]
    pub(crate) max_log_bytes: Option<u64>,
    /// Largest accepted API request body, e.g. a spec [default: 1 MiB].
    #[arg(long, env = "ORRERY_MAX_BODY_BYTES")]
    pub(crate) max_body_bytes: Option<usize>,
    /// IANA zone of schedules that name none [default: UTC].
    #[arg(long, env = "ORRERY_TIMEZONE")]
    pub(crate) timezone: Option<chrono_tz::Tz>,
    /// Most runs one backfill may create [default: 10000].
    #[arg(long, env = "ORRERY_MAX_BACKFILL_RUNS")]
    pub(crate) max_backfill_runs: Option<usize>,
    /// Interpreter of `python` tasks [default: python3].
    #[arg(long, env = "ORRERY_PYTHON")]
    pub(crate) python: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// A spec file (.yaml, .yml, .json) or a directory of them.
    #[arg(short = 'f', long = "file")]
    pub(crate) path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobCommand {
    /// List jobs.
    List,
    /// Show a job and its versions.
    Get { name: String },
    /// Delete a job (its runs stay readable).
    Delete { name: String },
    /// Stop a job's scheduled fires (they are recorded as `paused`).
    Pause { name: String },
    /// Resume a job's scheduled fires; fires missed meanwhile follow its misfire policy.
    Resume { name: String },
    /// Print a job's DAG (text, or Graphviz with --format dot).
    Graph {
        name: String,
        /// Show each task's state in this run.
        #[arg(long)]
        run: Option<i64>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// What became of each scheduled fire of a job, newest first.
    History {
        name: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunCommand {
    /// Start a run of a job.
    Start(StartArgs),
    /// List runs, newest first.
    List(ListArgs),
    /// Show a run and its task attempts.
    Get { run: i64 },
    /// Cancel a run: running tasks are killed, pending ones cancelled.
    Cancel { run: i64 },
    /// Print a run's task logs.
    Logs(LogsArgs),
    /// Start a new run like RUN (same params and logical date), linked to it.
    Rerun {
        run: i64,
        /// Keep the tasks that succeeded; rerun the rest and what depends on them.
        #[arg(long)]
        from_failed: bool,
        /// Wait for the rerun to end; exit 0 only when it succeeded.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCommand {
    /// Run a task of an ended run again; tasks after it that never ran run too.
    Retry {
        run: i64,
        task: String,
        /// Also rerun every task after it.
        #[arg(long)]
        downstream: bool,
    },
    /// Mark a task of an ended run success or skipped by hand; the run carries on.
    Mark {
        run: i64,
        task: String,
        #[arg(value_parser = ["success", "skipped"])]
        state: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Text,
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    pub(crate) job: String,
    /// Override a param: `--param region=eu` (numbers and booleans are typed).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub(crate) params: Vec<String>,
    /// Project of the job.
    #[arg(long)]
    pub(crate) project: Option<String>,
    /// Wait for the run to end; exit 0 only when it succeeded.
    #[arg(long)]
    pub(crate) wait: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[arg(long)]
    pub(crate) job: Option<String>,
    /// queued, running, success, failed or cancelled.
    #[arg(long)]
    pub(crate) state: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    pub(crate) run: i64,
    /// Only this task's lines.
    #[arg(long)]
    pub(crate) task: Option<String>,
    /// Keep printing new lines until the run ends.
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,
}
