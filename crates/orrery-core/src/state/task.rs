//! The task-instance state machine. One row per attempt: a failed attempt stays
//! `failed` and, when retries remain, the next attempt's row starts in `retry_wait`.

use super::InvalidTransition;
use serde::{Deserialize, Serialize};

/// Where one attempt of one task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for its upstream tasks.
    Pending,
    /// Waiting for its retry delay to pass.
    RetryWait,
    /// Ready, waiting for a worker slot.
    Queued,
    /// Sent to a worker that has not yet reported it started.
    Assigned,
    Running,
    Success,
    Failed,
    TimedOut,
    /// Its worker (or the server hosting it) went away mid-task.
    Lost,
    Cancelled,
    Skipped,
    UpstreamFailed,
}

/// What can happen to a task attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskEvent {
    /// Upstreams are done (or the retry delay passed): ready to dispatch.
    Enqueue,
    /// Handed to a worker.
    Assign,
    /// The worker started the process.
    Start,
    Succeed,
    Fail,
    TimeOut,
    /// The worker holding it is gone.
    Lose,
    Cancel,
    Skip,
    /// An upstream failed for good.
    UpstreamFail,
}

impl TaskState {
    /// Every state, for exhaustive tests and parsing.
    pub const ALL: [TaskState; 12] = [
        TaskState::Pending,
        TaskState::RetryWait,
        TaskState::Queued,
        TaskState::Assigned,
        TaskState::Running,
        TaskState::Success,
        TaskState::Failed,
        TaskState::TimedOut,
        TaskState::Lost,
        TaskState::Cancelled,
        TaskState::Skipped,
        TaskState::UpstreamFailed,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::RetryWait => "retry_wait",
            TaskState::Queued => "queued",
            TaskState::Assigned => "assigned",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::TimedOut => "timed_out",
            TaskState::Lost => "lost",
            TaskState::Cancelled => "cancelled",
            TaskState::Skipped => "skipped",
            TaskState::UpstreamFailed => "upstream_failed",
        }
    }

    /// Parses a stored or user-given name.
    pub fn parse(name: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Terminal states never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Success
                | TaskState::Failed
                | TaskState::TimedOut
                | TaskState::Lost
                | TaskState::Cancelled
                | TaskState::Skipped
                | TaskState::UpstreamFailed
        )
    }

    /// An attempt that ended badly in a way a retry may fix.
    pub fn is_retryable_failure(self) -> bool {
        matches!(
            self,
            TaskState::Failed | TaskState::TimedOut | TaskState::Lost
        )
    }

    /// Held by a worker right now.
    pub fn is_on_worker(self) -> bool {
        matches!(self, TaskState::Assigned | TaskState::Running)
    }

    /// The state after `event`, or why that is not allowed.
    pub fn on(self, event: TaskEvent) -> Result<TaskState, InvalidTransition> {
        use TaskEvent as E;
        use TaskState as S;
        let next = match (self, event) {
            (S::Pending | S::RetryWait, E::Enqueue) => S::Queued,
            (S::Queued, E::Assign) => S::Assigned,
            (S::Assigned, E::Start) => S::Running,
            // A fast task may finish before its start report is applied.
            (S::Assigned | S::Running, E::Succeed) => S::Success,
            (S::Assigned | S::Running, E::Fail) => S::Failed,
            // Refused before it ran: its condition or templates could not be evaluated.
            (S::Pending | S::Queued, E::Fail) => S::Failed,
            (S::Assigned | S::Running, E::TimeOut) => S::TimedOut,
            (S::Assigned | S::Running, E::Lose) => S::Lost,
            (S::Pending | S::RetryWait | S::Queued | S::Assigned | S::Running, E::Cancel) => {
                S::Cancelled
            }
            (S::Pending, E::Skip) => S::Skipped,
            (S::Pending | S::RetryWait, E::UpstreamFail) => S::UpstreamFailed,
            _ => {
                return Err(InvalidTransition {
                    kind: "task",
                    from: self.as_str(),
                    event: event.name(),
                });
            }
        };
        Ok(next)
    }
}

impl TaskEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: [TaskEvent; 10] = [
        TaskEvent::Enqueue,
        TaskEvent::Assign,
        TaskEvent::Start,
        TaskEvent::Succeed,
        TaskEvent::Fail,
        TaskEvent::TimeOut,
        TaskEvent::Lose,
        TaskEvent::Cancel,
        TaskEvent::Skip,
        TaskEvent::UpstreamFail,
    ];

    fn name(self) -> &'static str {
        match self {
            TaskEvent::Enqueue => "enqueue",
            TaskEvent::Assign => "assign",
            TaskEvent::Start => "start",
            TaskEvent::Succeed => "succeed",
            TaskEvent::Fail => "fail",
            TaskEvent::TimeOut => "time_out",
            TaskEvent::Lose => "lose",
            TaskEvent::Cancel => "cancel",
            TaskEvent::Skip => "skip",
            TaskEvent::UpstreamFail => "upstream_fail",
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskEvent as E;
    use TaskState as S;

    const ALLOWED: &[(TaskState, TaskEvent, TaskState)] = &[
        (S::Pending, E::Enqueue, S::Queued),
        (S::RetryWait, E::Enqueue, S::Queued),
        (S::Queued, E::Assign, S::Assigned),
        (S::Assigned, E::Start, S::Running),
        (S::Assigned, E::Succeed, S::Success),
        (S::Running, E::Succeed, S::Success),
        (S::Assigned, E::Fail, S::Failed),
        (S::Running, E::Fail, S::Failed),
        (S::Pending, E::Fail, S::Failed),
        (S::Queued, E::Fail, S::Failed),
        (S::Assigned, E::TimeOut, S::TimedOut),
        (S::Running, E::TimeOut, S::TimedOut),
        (S::Assigned, E::Lose, S::Lost),
        (S::Running, E::Lose, S::Lost),
        (S::Pending, E::Cancel, S::Cancelled),
        (S::RetryWait, E::Cancel, S::Cancelled),
        (S::Queued, E::Cancel, S::Cancelled),
        (S::Assigned, E::Cancel, S::Cancelled),
        (S::Running, E::Cancel, S::Cancelled),
        (S::Pending, E::Skip, S::Skipped),
        (S::Pending, E::UpstreamFail, S::UpstreamFailed),
        (S::RetryWait, E::UpstreamFail, S::UpstreamFailed),
    ];

    #[test]
    fn every_transition_is_allowed_or_refused_as_designed() {
        for from in TaskState::ALL {
            for event in TaskEvent::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.on(event).ok(), expected, "{from} on {event:?}");
            }
        }
    }

    #[test]
    fn terminal_states_accept_no_event() {
        for from in TaskState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for event in TaskEvent::ALL {
                assert!(from.on(event).is_err(), "{from} accepted {event:?}");
            }
        }
    }

    #[test]
    fn refusal_names_state_and_event() {
        let err = S::Success.on(E::Start).unwrap_err();
        assert_eq!(err.to_string(), "task cannot go from success on start");
    }

    #[test]
    fn names_round_trip() {
        for state in TaskState::ALL {
            assert_eq!(TaskState::parse(state.as_str()), Some(state));
        }
    }
}
