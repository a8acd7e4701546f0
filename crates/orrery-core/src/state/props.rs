//! Property tests of the state machines: whatever events arrive, in whatever order, a
//! terminal state stays terminal.

use super::{RunEvent, RunState, TaskEvent, TaskState};
use proptest::prelude::*;

proptest! {
    #[test]
    fn a_terminal_task_state_stays_terminal(events in proptest::collection::vec(proptest::sample::select(TaskEvent::ALL.to_vec()), 0..40)) {
        let mut state = TaskState::Pending;
        let mut ended: Option<TaskState> = None;
        for event in events {
            if let Ok(next) = state.on(event) {
                state = next;
            }
            if let Some(ended) = ended {
                prop_assert_eq!(state, ended, "left a terminal state");
            } else if state.is_terminal() {
                ended = Some(state);
            }
        }
    }

    #[test]
    fn a_terminal_run_state_stays_terminal(events in proptest::collection::vec(proptest::sample::select(vec![RunEvent::Start, RunEvent::Succeed, RunEvent::Fail, RunEvent::Cancel]), 0..20)) {
        let mut state = RunState::Queued;
        let mut ended: Option<RunState> = None;
        for event in events {
            if let Ok(next) = state.on(event) {
                state = next;
            }
            if let Some(ended) = ended {
                prop_assert_eq!(state, ended, "left a terminal state");
            } else if state.is_terminal() {
                ended = Some(state);
            }
        }
    }
}
