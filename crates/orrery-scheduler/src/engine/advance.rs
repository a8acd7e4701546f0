//! DAG advancement: given the latest attempt of every task of a run, which tasks
//! become ready, which can never run, and whether the run is over.

use chrono::{DateTime, Utc};
use orrery_core::dag::Dag;
use orrery_core::state::{RunState, TaskState};

/// The latest attempt of one task, as the engine needs to see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskView {
    pub state: TaskState,
    pub retry_at: Option<DateTime<Utc>>,
}

impl TaskView {
    /// A task in `state` with no retry pending.
    pub fn new(state: TaskState) -> Self {
        Self {
            state,
            retry_at: None,
        }
    }
}

/// What the runtime must do for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Every upstream succeeded (or the retry delay passed): queue it.
    Enqueue(usize),
    /// An upstream ended without success and will not run again.
    UpstreamFailed(usize),
    /// An upstream was skipped, so this task is skipped too.
    Skip(usize),
    /// Every task is terminal: the run ends in this state.
    Finish(RunState),
}

/// Decides the next steps of a running run. Decisions are returned in topological
/// order and already account for each other (a failure cascades through the whole
/// downstream in one call).
pub fn advance_run(dag: &Dag, tasks: &[TaskView], now: DateTime<Utc>) -> Vec<Decision> {
    let mut states: Vec<TaskState> = tasks.iter().map(|t| t.state).collect();
    let mut decisions = Vec::new();
    for idx in dag.topological_order() {
        let Some(view) = tasks.get(idx) else { continue };
        match view.state {
            TaskState::Pending => {
                let upstream_states = dag
                    .upstreams(idx)
                    .iter()
                    .filter_map(|&u| states.get(u).copied());
                let mut all_success = true;
                let mut any_failed = false;
                let mut any_skipped = false;
                for state in upstream_states {
                    match state {
                        TaskState::Success => {}
                        TaskState::Skipped => any_skipped = true,
                        s if s.is_terminal() => any_failed = true,
                        _ => all_success = false,
                    }
                }
                let next = if any_failed {
                    Some((Decision::UpstreamFailed(idx), TaskState::UpstreamFailed))
                } else if !all_success {
                    None
                } else if any_skipped {
                    Some((Decision::Skip(idx), TaskState::Skipped))
                } else {
                    Some((Decision::Enqueue(idx), TaskState::Queued))
                };
                if let Some((decision, state)) = next {
                    decisions.push(decision);
                    states[idx] = state;
                }
            }
            TaskState::RetryWait if view.retry_at.is_none_or(|at| at <= now) => {
                decisions.push(Decision::Enqueue(idx));
                states[idx] = TaskState::Queued;
            }
            _ => {}
        }
    }
    if states.iter().all(|s| s.is_terminal()) {
        let succeeded = states
            .iter()
            .all(|s| matches!(s, TaskState::Success | TaskState::Skipped));
        let outcome = if succeeded {
            RunState::Success
        } else {
            RunState::Failed
        };
        decisions.push(Decision::Finish(outcome));
    }
    decisions
}

#[cfg(test)]
#[path = "advance_tests.rs"]
mod tests;
