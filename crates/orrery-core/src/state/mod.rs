//! Run and task-instance state machines: pure `(state, event) → state` functions.

mod origin;
mod run;
mod task;

#[cfg(test)]
mod props;

pub use origin::{FireFate, RunTrigger};
pub use run::{RunEvent, RunState};
pub use task::{TaskEvent, TaskState};

/// A transition the state machine does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} cannot go from {from} on {event}")]
pub struct InvalidTransition {
    pub kind: &'static str,
    pub from: &'static str,
    pub event: &'static str,
}
