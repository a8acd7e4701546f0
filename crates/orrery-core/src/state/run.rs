//! The run state machine: `queued → running → {success, failed, cancelled}`.

use super::InvalidTransition;
use serde::{Deserialize, Serialize};

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    Success,
    Failed,
    Cancelled,
}

/// What can happen to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEvent {
    /// The scheduler took the run up and materialized its first tasks.
    Start,
    /// Every task ended and none failed for good.
    Succeed,
    /// A task failed for good (after its retries).
    Fail,
    /// A user cancelled it.
    Cancel,
}

impl RunState {
    /// Every state, for exhaustive tests and parsing.
    pub const ALL: [RunState; 5] = [
        RunState::Queued,
        RunState::Running,
        RunState::Success,
        RunState::Failed,
        RunState::Cancelled,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Success => "success",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    /// Parses a stored or user-given name.
    pub fn parse(name: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Terminal states never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunState::Success | RunState::Failed | RunState::Cancelled
        )
    }

    /// The state after `event`, or why that is not allowed.
    pub fn on(self, event: RunEvent) -> Result<RunState, InvalidTransition> {
        use RunEvent as E;
        use RunState as S;
        let next = match (self, event) {
            (S::Queued, E::Start) => S::Running,
            (S::Running, E::Succeed) => S::Success,
            (S::Running, E::Fail) => S::Failed,
            (S::Queued | S::Running, E::Cancel) => S::Cancelled,
            _ => {
                return Err(InvalidTransition {
                    kind: "run",
                    from: self.as_str(),
                    event: event.name(),
                });
            }
        };
        Ok(next)
    }
}

impl RunEvent {
    fn name(self) -> &'static str {
        match self {
            RunEvent::Start => "start",
            RunEvent::Succeed => "succeed",
            RunEvent::Fail => "fail",
            RunEvent::Cancel => "cancel",
        }
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTS: [RunEvent; 4] = [
        RunEvent::Start,
        RunEvent::Succeed,
        RunEvent::Fail,
        RunEvent::Cancel,
    ];

    #[test]
    fn every_transition_is_allowed_or_refused_as_designed() {
        use RunState as S;
        let allowed = [
            (S::Queued, RunEvent::Start, S::Running),
            (S::Queued, RunEvent::Cancel, S::Cancelled),
            (S::Running, RunEvent::Succeed, S::Success),
            (S::Running, RunEvent::Fail, S::Failed),
            (S::Running, RunEvent::Cancel, S::Cancelled),
        ];
        for from in RunState::ALL {
            for event in EVENTS {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.on(event).ok(), expected, "{from} on {event:?}");
            }
        }
    }

    #[test]
    fn terminal_states_accept_no_event() {
        for from in RunState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for event in EVENTS {
                assert!(from.on(event).is_err(), "{from} accepted {event:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for state in RunState::ALL {
            assert_eq!(RunState::parse(state.as_str()), Some(state));
        }
        assert_eq!(RunState::parse("bogus"), None);
    }
}
