//! Turning how a process ended into a `TaskOutcome`, an exit code and an error text.

use nix::sys::signal::Signal;
use orrery_core::duration::HumanDuration;
use orrery_proto::TaskOutcome;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

/// Why the worker stopped waiting for the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// It exited on its own.
    Exited,
    /// It ran past its timeout and was killed.
    TimedOut(Duration),
    /// The scheduler or the worker asked for it to stop.
    Cancelled,
}

/// The parts of `TaskFinished` decided by the process's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ExitReport {
    pub(super) outcome: TaskOutcome,
    pub(super) exit_code: Option<i32>,
    pub(super) error: Option<String>,
}

/// Timeouts and cancels win over the exit status, which then only tells the code.
pub(super) fn classify(ending: Ending, status: ExitStatus) -> ExitReport {
    let exit_code = status.code();
    match ending {
        Ending::TimedOut(timeout) => ExitReport {
            outcome: TaskOutcome::TimedOut,
            exit_code,
            error: Some(format!("timed out after {}", HumanDuration(timeout))),
        },
        Ending::Cancelled => ExitReport {
            outcome: TaskOutcome::Cancelled,
            exit_code,
            error: None,
        },
        Ending::Exited => match (exit_code, status.signal()) {
            (Some(0), _) => ExitReport {
                outcome: TaskOutcome::Succeeded,
                exit_code,
                error: None,
            },
            (Some(_), _) => ExitReport {
                outcome: TaskOutcome::Failed,
                exit_code,
                error: None,
            },
            (None, signal) => ExitReport {
                outcome: TaskOutcome::Failed,
                exit_code: None,
                error: Some(signal_error(signal)),
            },
        },
    }
}

fn signal_error(signal: Option<i32>) -> String {
    match signal {
        Some(number) => match Signal::try_from(number) {
            Ok(signal) => format!("killed by signal {}", signal.as_str()),
            Err(_) => format!("killed by signal {number}"),
        },
        None => "ended without an exit code or a signal".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn signalled(signal: i32) -> ExitStatus {
        ExitStatus::from_raw(signal)
    }

    #[test]
    fn exit_codes_and_signals_map_to_outcomes() {
        let check = |ending, status, outcome, exit_code, error: Option<&str>| {
            let expected = ExitReport {
                outcome,
                exit_code,
                error: error.map(str::to_owned),
            };
            assert_eq!(classify(ending, status), expected);
        };
        check(
            Ending::Exited,
            exited(0),
            TaskOutcome::Succeeded,
            Some(0),
            None,
        );
        check(
            Ending::Exited,
            exited(3),
            TaskOutcome::Failed,
            Some(3),
            None,
        );
        check(
            Ending::Exited,
            signalled(9),
            TaskOutcome::Failed,
            None,
            Some("killed by signal SIGKILL"),
        );
        check(
            Ending::TimedOut(Duration::from_secs(2)),
            signalled(15),
            TaskOutcome::TimedOut,
            None,
            Some("timed out after 2s"),
        );
        check(
            Ending::Cancelled,
            exited(143),
            TaskOutcome::Cancelled,
            Some(143),
            None,
        );
    }
}
