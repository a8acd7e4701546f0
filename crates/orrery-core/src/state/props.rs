//! Property tests of the state machines: whatever events arrive, in whatever order, a
//! terminal state stays terminal.

use super::{RunEvent, RunState, TaskEvent, TaskState};
use proptest::prelude::*;

/// Applies `events` from `start` (ignoring refused ones) and checks that once the
/// state is terminal it never changes.
fn stays_terminal<S: Copy + PartialEq + std::fmt::Debug, E: Copy, X>(
    start: S,
    events: &[E],
    on: impl Fn(S, E) -> Result<S, X>,
    is_terminal: impl Fn(S) -> bool,
) -> Result<(), TestCaseError> {
    let mut state = start;
    let mut ended: Option<S> = None;
    for event in events {
        if let Ok(next) = on(state, *event) {
            state = next;
        }
        if let Some(ended) = ended {
            prop_assert_eq!(state, ended, "left a terminal state");
        } else if is_terminal(state) {
            ended = Some(state);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn a_terminal_task_state_stays_terminal(events in proptest::collection::vec(proptest::sample::select(TaskEvent::ALL.to_vec()), 0..40)) {
        stays_terminal(TaskState::Pending, &events, TaskState::on, TaskState::is_terminal)?;
    }

    #[test]
    fn a_terminal_run_state_stays_terminal(events in proptest::collection::vec(proptest::sample::select(vec![RunEvent::Start, RunEvent::Succeed, RunEvent::Fail, RunEvent::Cancel]), 0..20)) {
        stays_terminal(RunState::Queued, &events, RunState::on, RunState::is_terminal)?;
    }
}
