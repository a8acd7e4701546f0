//! The command line: which scenarios to run, how big, how often, and where to write JSON.

use clap::{Parser, ValueEnum};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// Measures Orrery's scheduling overhead against an in-process server.
#[derive(Debug, Parser)]
#[command(name = "orrery-bench", version)]
pub(crate) struct Args {
    /// Run only these scenarios (comma-separated). By default the quick ones run:
    /// fanout, chain and shell-overhead; lateness and jobs-memory take minutes, and
    /// remote-workers needs the `orrery` binary, so they run only when named.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) scenario: Vec<ScenarioName>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Independent noop tasks in the fanout job.
    #[arg(long, default_value = "500")]
    pub(crate) fanout_tasks: NonZeroU32,
    /// Worker slot counts to run the fanout job with, one row set each.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    pub(crate) fanout_slots: Vec<NonZeroU32>,
    /// Noop tasks in the chain job (at least 2, so there is an edge).
    #[arg(long, default_value = "200")]
    pub(crate) chain_tasks: NonZeroU32,
    /// Shell tasks in the shell-overhead chain, and direct spawns to compare with.
    #[arg(long, default_value = "50")]
    pub(crate) shell_tasks: NonZeroU32,
    /// Repetitions of every scenario; medians are reported.
    #[arg(long, default_value = "3")]
    pub(crate) repeat: NonZeroU32,
    /// How often the harness asks the server whether a run has ended, in milliseconds.
    #[arg(long, default_value = "5")]
    pub(crate) poll_ms: NonZeroU32,
    /// Give up on a run that has not ended after this many seconds.
    #[arg(long, default_value = "120")]
    pub(crate) run_timeout_secs: NonZeroU32,
    /// Jobs firing every second in the lateness scenario; one set of rows per count.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub(crate) lateness_jobs: Vec<NonZeroU32>,
    /// How the lateness jobs' fires fall within each second: `aligned` (all on the
    /// whole second, one burst) or `staggered` (spread evenly over the second).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "aligned,staggered"
    )]
    pub(crate) lateness_phases: Vec<Phase>,
    /// Seconds the lateness jobs run after they are all applied, warm-up included.
    #[arg(long, default_value = "20")]
    pub(crate) lateness_secs: NonZeroU32,
    /// The first seconds of `--lateness-secs` that are not measured.
    #[arg(long, default_value = "5")]
    pub(crate) lateness_warmup_secs: u32,
    /// Worker slots of the lateness server.
    #[arg(long, default_value = "64")]
    pub(crate) lateness_slots: NonZeroU32,
    /// Most runs of the window read in full for their task start times; a larger window
    /// is sampled evenly.
    #[arg(long, default_value = "20000")]
    pub(crate) lateness_sample: NonZeroU32,
    /// Most jobs whose occurrence ledger is read after the window.
    #[arg(long, default_value = "1000")]
    pub(crate) ledger_jobs: NonZeroU32,
    /// Daily-scheduled jobs registered in the jobs-memory scenario.
    #[arg(long, default_value = "100000")]
    pub(crate) memory_jobs: NonZeroU32,
    /// Apply requests in flight at once when registering many jobs, and read requests
    /// in flight when collecting runs.
    #[arg(long, default_value = "8")]
    pub(crate) in_flight: NonZeroU32,
    /// Internal: run the per-job memory probe for this many jobs and exit (the
    /// jobs-memory scenario starts the harness again with it).
    #[arg(long = "probe-parsed-jobs", hide = true)]
    pub(crate) probe_parsed_jobs: Option<u32>,
    /// Noop tasks in the remote-workers dispatch job.
    #[arg(long, default_value = "2000")]
    pub(crate) remote_tasks: NonZeroU32,
    /// Numbers of `orrery worker` processes to run the dispatch job on; one row set each.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub(crate) remote_workers: Vec<NonZeroU32>,
    /// Slots of each worker process in the dispatch job.
    #[arg(long, default_value = "8")]
    pub(crate) remote_slots: NonZeroU32,
    /// Shell tasks running `true`, and as many command tasks running `/bin/true`, on one
    /// remote worker, and direct spawns to compare with.
    #[arg(long, default_value = "500")]
    pub(crate) remote_shell_tasks: NonZeroU32,
    /// Slots of the one worker running the shell tasks, and direct spawns at once.
    #[arg(long, default_value = "4")]
    pub(crate) remote_parallelism: NonZeroU32,
    /// Clients starting runs at once in the run-starts scenario; one row set each.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    pub(crate) start_clients: Vec<NonZeroU32>,
    /// Seconds the run-starts clients keep starting runs.
    #[arg(long, default_value = "5")]
    pub(crate) start_secs: NonZeroU32,
    /// Runs started one at a time on an idle server to time enqueue → start.
    #[arg(long, default_value = "200")]
    pub(crate) enqueue_samples: NonZeroU32,
    /// Stop registering jobs after this many seconds and extrapolate from the jobs
    /// registered so far (lateness and jobs-memory).
    #[arg(long, default_value = "180")]
    pub(crate) apply_budget_secs: NonZeroU32,
    /// Runs of a one-task shell job started evenly during the `lateness` window, as
    /// load (0: none). They fail, each raising alerts routed to a local webhook,
    /// unless `--lateness-load-succeeds`.
    #[arg(long, default_value = "0")]
    pub(crate) lateness_load_runs: u32,
    /// The load runs succeed (raising no alert): the baseline for failing ones.
    #[arg(long)]
    pub(crate) lateness_load_succeeds: bool,
    /// Notifications made due at once in `alerts` (one failing task each).
    #[arg(long, default_value = "1000")]
    pub(crate) alert_groups: NonZeroU32,
    /// Failed runs of one job in `alerts`, to count the grouped messages they make.
    #[arg(long, default_value = "1000")]
    pub(crate) alert_runs: NonZeroU32,
}

impl Args {
    /// Whether `scenario` was selected (no `--scenario` selects the quick ones).
    pub(crate) fn selects(&self, scenario: ScenarioName) -> bool {
        if self.scenario.is_empty() {
            scenario.is_quick()
        } else {
            self.scenario.contains(&scenario)
        }
    }

    /// The selected scenarios' names, joined by commas.
    pub(crate) fn selected_names(&self) -> String {
        ScenarioName::ALL
            .into_iter()
            .filter(|scenario| self.selects(*scenario))
            .map(ScenarioName::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn run_wait(&self) -> RunWait {
        RunWait {
            poll_interval: Duration::from_millis(u64::from(self.poll_ms.get())),
            timeout: Duration::from_secs(u64::from(self.run_timeout_secs.get())),
        }
    }
}

/// How the harness waits for a run to end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunWait {
    pub(crate) poll_interval: Duration,
    pub(crate) timeout: Duration,
}

/// The scenarios, named as on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScenarioName {
    Fanout,
    Chain,
    ShellOverhead,
    Lateness,
    JobsMemory,
    RemoteWorkers,
    RunStarts,
    Access,
    LogMasking,
    Alerts,
}

impl ScenarioName {
    const ALL: [ScenarioName; 10] = [
        ScenarioName::Fanout,
        ScenarioName::Chain,
        ScenarioName::ShellOverhead,
        ScenarioName::Lateness,
        ScenarioName::JobsMemory,
        ScenarioName::RemoteWorkers,
        ScenarioName::RunStarts,
        ScenarioName::Access,
        ScenarioName::LogMasking,
        ScenarioName::Alerts,
    ];

    /// The name as given to `--scenario`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ScenarioName::Fanout => "fanout",
            ScenarioName::Chain => "chain",
            ScenarioName::ShellOverhead => "shell-overhead",
            ScenarioName::Lateness => "lateness",
            ScenarioName::JobsMemory => "jobs-memory",
            ScenarioName::RemoteWorkers => "remote-workers",
            ScenarioName::RunStarts => "run-starts",
            ScenarioName::Access => "access",
            ScenarioName::LogMasking => "log-masking",
            ScenarioName::Alerts => "alerts",
        }
    }

    /// Runs in seconds, so it is part of a run without `--scenario`.
    fn is_quick(self) -> bool {
        matches!(
            self,
            ScenarioName::Fanout | ScenarioName::Chain | ScenarioName::ShellOverhead
        )
    }
}

/// Where within each second the lateness jobs fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Phase {
    /// Every job on the whole second: one burst of N fires per second.
    Aligned,
    /// Job `i` of N at `i/N` s past the second: an even stream of N fires per second.
    Staggered,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Aligned => "aligned",
            Phase::Staggered => "staggered",
        }
    }
}
