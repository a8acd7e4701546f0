//! Turning how a process ended into a `TaskOutcome`, an exit code and an error text.

use super::outputs::OutputError;
use nix::sys::signal::Signal;
use orrery_core::duration::HumanDuration;
use orrery_proto::TaskOutcome;
use std::collections::BTreeMap;
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

/// Takes the output file into account: a bad one fails an attempt that otherwise
/// succeeded, and becomes the error of one that ended without another explanation.
pub(super) fn with_outputs(
    mut report: ExitReport,
    outputs: Result<BTreeMap<String, String>, OutputError>,
) -> (ExitReport, BTreeMap<String, String>) {
    match outputs {
        Ok(outputs) => (report, outputs),
        Err(output_error) => {
            if report.outcome == TaskOutcome::Succeeded {
                report.outcome = TaskOutcome::Failed;
            }
            report.error.get_or_insert_with(|| output_error.to_string());
            (report, BTreeMap::new())
        }
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

    #[test]
    fn a_bad_output_file_fails_a_success_and_explains_an_unexplained_end() {
        let bad = || Err(OutputError::MissingEquals { line: 2 });
        let message = "output file line 2: expected key=value";
        let (report, outputs) = with_outputs(classify(Ending::Exited, exited(0)), bad());
        assert_eq!(report.outcome, TaskOutcome::Failed);
        assert_eq!(report.exit_code, Some(0));
        assert_eq!(report.error.as_deref(), Some(message));
        assert!(outputs.is_empty());

        let (report, _) = with_outputs(classify(Ending::Exited, exited(4)), bad());
        assert_eq!(
            (report.outcome, report.error.as_deref()),
            (TaskOutcome::Failed, Some(message))
        );

        let timed_out = classify(Ending::TimedOut(Duration::from_secs(1)), signalled(15));
        let (report, _) = with_outputs(timed_out, bad());
        assert_eq!(report.outcome, TaskOutcome::TimedOut);
        assert_eq!(report.error.as_deref(), Some("timed out after 1s"));
    }
}
