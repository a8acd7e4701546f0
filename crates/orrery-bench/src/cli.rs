//! The command line: which scenarios to run, how big, how often, and where to write JSON.

use clap::{Parser, ValueEnum};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// Measures Orrery's scheduling overhead against an in-process server.
#[derive(Debug, Parser)]
#[command(name = "orrery-bench", version)]
pub(crate) struct Args {
    /// Run only this scenario; all of them by default.
    #[arg(long, value_enum)]
    pub(crate) scenario: Option<ScenarioName>,
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
}

impl Args {
    /// Whether `scenario` was selected (no `--scenario` selects all).
    pub(crate) fn selects(&self, scenario: ScenarioName) -> bool {
        self.scenario.is_none_or(|only| only == scenario)
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
}

impl ScenarioName {
    /// The name as given to `--scenario`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ScenarioName::Fanout => "fanout",
            ScenarioName::Chain => "chain",
            ScenarioName::ShellOverhead => "shell-overhead",
        }
    }
}
