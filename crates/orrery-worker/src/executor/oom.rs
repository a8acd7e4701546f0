//! Turning an out-of-memory kill seen by the attempt's cgroup into its failure.

use super::exit::{Ending, ExitReport};
use crate::isolation::{Measurement, OomEvidence, format_limit, format_measured};
use nix::sys::signal::Signal;
use orrery_proto::TaskOutcome;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// What shells and bubblewrap exit with when their child was killed by SIGKILL.
const SIGKILL_EXIT_CODE: i32 = 128 + Signal::SIGKILL as i32;

/// An attempt that ended on its own, unsuccessfully, after the OOM killer struck in its
/// cgroup failed because it ran out of memory, whatever else its exit says. Timeouts
/// and cancels keep their outcome, and a task that survived the kill of one of its
/// processes keeps its success.
pub(super) fn with_oom(
    report: ExitReport,
    ending: Ending,
    status: ExitStatus,
    measurement: &Measurement,
) -> ExitReport {
    if ending != Ending::Exited || report.outcome == TaskOutcome::Succeeded {
        return report;
    }
    let killed_by_oom = match measurement.oom {
        OomEvidence::Killed => true,
        OomEvidence::LimitHit => {
            status.signal() == Some(Signal::SIGKILL as i32)
                || status.code() == Some(SIGKILL_EXIT_CODE)
        }
        OomEvidence::NotSeen => false,
    };
    if !killed_by_oom {
        return report;
    }
    ExitReport {
        outcome: TaskOutcome::Failed,
        exit_code: report.exit_code,
        error: Some(oom_message(
            measurement.memory_limit_bytes,
            measurement.peak_memory_bytes,
        )),
    }
}

/// `out of memory (limit 64Mi, peak 64.0Mi)`.
fn oom_message(limit: Option<u64>, peak: Option<u64>) -> String {
    let limit = limit.map_or_else(|| "none".to_owned(), format_limit);
    let peak = peak.map_or_else(|| "unknown".to_owned(), format_measured);
    format!("out of memory (limit {limit}, peak {peak})")
}

#[cfg(test)]
mod tests {
    use super::super::exit::classify;
    use super::*;
    use std::time::Duration;

    const KILLED: i32 = Signal::SIGKILL as i32;

    fn measured(oom: OomEvidence) -> Measurement {
        Measurement {
            memory_limit_bytes: Some(64 << 20),
            cpu_time: None,
            peak_memory_bytes: Some(64 << 20),
            oom,
        }
    }

    fn check(ending: Ending, status: ExitStatus, oom: OomEvidence, expected_error: Option<&str>) {
        let report = with_oom(classify(ending, status), ending, status, &measured(oom));
        assert_eq!(
            report.error.as_deref(),
            expected_error,
            "{ending:?} {status:?} {oom:?}"
        );
    }

    #[test]
    fn an_oom_kill_explains_a_failed_attempt_with_limit_and_peak() {
        let message = Some("out of memory (limit 64Mi, peak 64.0Mi)");
        let signalled = ExitStatus::from_raw(KILLED);
        let shell_exit = ExitStatus::from_raw(SIGKILL_EXIT_CODE << 8);
        check(Ending::Exited, signalled, OomEvidence::Killed, message);
        check(Ending::Exited, shell_exit, OomEvidence::Killed, message);
        check(Ending::Exited, shell_exit, OomEvidence::LimitHit, message);
        check(
            Ending::Exited,
            ExitStatus::from_raw(1 << 8),
            OomEvidence::LimitHit,
            None,
        );
        check(
            Ending::Exited,
            signalled,
            OomEvidence::NotSeen,
            Some("killed by signal SIGKILL"),
        );
    }

    #[test]
    fn successes_timeouts_and_cancels_keep_their_outcome() {
        check(
            Ending::Exited,
            ExitStatus::from_raw(0),
            OomEvidence::Killed,
            None,
        );
        let timed_out = Ending::TimedOut(Duration::from_secs(1));
        check(
            timed_out,
            ExitStatus::from_raw(KILLED),
            OomEvidence::Killed,
            Some("timed out after 1s"),
        );
        check(
            Ending::Cancelled,
            ExitStatus::from_raw(KILLED),
            OomEvidence::Killed,
            None,
        );
    }

    #[test]
    fn an_unknown_limit_or_peak_is_said_so() {
        assert_eq!(
            oom_message(None, None),
            "out of memory (limit none, peak unknown)"
        );
        assert_eq!(
            oom_message(Some(1 << 30), Some(1_610_612_736)),
            "out of memory (limit 1Gi, peak 1.5Gi)"
        );
    }
}
