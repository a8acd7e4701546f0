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

/// When a task may run, given how its upstream tasks ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rule {
    /// Every upstream succeeded (a skipped upstream skips it, a failed one fails it).
    #[default]
    AllSuccess,
    /// Every upstream ended, however.
    AllDone,
    /// Every upstream failed.
    AllFailed,
    /// At least one upstream succeeded (runs as soon as one does).
    OneSuccess,
    /// At least one upstream failed (runs as soon as one does).
    OneFailed,
    /// No upstream failed (skipped ones are fine).
    NoneFailed,
    /// No upstream failed and at least one succeeded.
    NoneFailedMinOneSuccess,
}

/// What the engine needs to know about a run's tasks beyond their states.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunShape {
    /// Trigger rule per task; missing entries are `AllSuccess`.
    pub rules: Vec<Rule>,
    /// For a branch task that succeeded: the downstream tasks it chose. Its other
    /// downstream tasks are skipped.
    pub branch_choices: Vec<Option<Vec<usize>>>,
    /// Runs only when the rest of the run failed.
    pub on_failure: Option<usize>,
    /// Runs only when the rest of the run succeeded.
    pub on_success: Option<usize>,
}

/// Decides the next steps of a running run where every task has the default rule.
pub fn advance_run(dag: &Dag, tasks: &[TaskView], now: DateTime<Utc>) -> Vec<Decision> {
    advance_run_with(dag, tasks, now, &RunShape::default())
}

fn is_failure(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::Failed
            | TaskState::TimedOut
            | TaskState::Lost
            | TaskState::UpstreamFailed
            | TaskState::Cancelled
    )
}

/// How a pending task's upstream tasks stand.
#[derive(Default)]
struct Upstreams {
    total: usize,
    done: usize,
    success: usize,
    failed: usize,
    skipped: usize,
    /// A branch upstream that succeeded did not choose this task.
    not_chosen: bool,
}

/// What a rule says about a pending task.
fn judge(rule: Rule, up: &Upstreams) -> Option<TaskState> {
    use TaskState::{Queued, Skipped, UpstreamFailed};
    if up.not_chosen {
        return Some(Skipped);
    }
    let all_done = up.done == up.total;
    match rule {
        Rule::AllSuccess if up.failed > 0 => Some(UpstreamFailed),
        Rule::AllSuccess if !all_done => None,
        Rule::AllSuccess if up.skipped > 0 => Some(Skipped),
        Rule::AllSuccess => Some(Queued),
        Rule::AllDone => all_done.then_some(Queued),
        Rule::AllFailed if up.success + up.skipped > 0 => Some(Skipped),
        Rule::AllFailed => all_done.then_some(Queued),
        Rule::OneSuccess if up.success > 0 => Some(Queued),
        Rule::OneSuccess => all_done.then_some(if up.failed > 0 {
            UpstreamFailed
        } else {
            Skipped
        }),
        Rule::OneFailed if up.failed > 0 => Some(Queued),
        Rule::OneFailed => all_done.then_some(Skipped),
        Rule::NoneFailed if up.failed > 0 => Some(UpstreamFailed),
        Rule::NoneFailed => all_done.then_some(Queued),
        Rule::NoneFailedMinOneSuccess if up.failed > 0 => Some(UpstreamFailed),
        Rule::NoneFailedMinOneSuccess if !all_done => None,
        Rule::NoneFailedMinOneSuccess if up.success == 0 => Some(Skipped),
        Rule::NoneFailedMinOneSuccess => Some(Queued),
    }
}

/// Decides the next steps of a running run. Decisions are returned in topological
/// order and already account for each other (a failure or skip cascades through the
/// whole downstream in one call). The run succeeds when every task that nothing
/// depends on (its leaves) succeeded or was skipped; handler tasks
/// (`on_failure`/`on_success`) run after the rest and a failing handler fails the run.
pub fn advance_run_with(
    dag: &Dag,
    tasks: &[TaskView],
    now: DateTime<Utc>,
    shape: &RunShape,
) -> Vec<Decision> {
    let mut states: Vec<TaskState> = tasks.iter().map(|t| t.state).collect();
    let handlers = [shape.on_failure, shape.on_success];
    let is_handler = |idx: usize| handlers.contains(&Some(idx));
    let mut decisions = Vec::new();
    for &idx in dag.topological_order() {
        if is_handler(idx) {
            continue;
        }
        let Some(view) = tasks.get(idx) else { continue };
        match view.state {
            TaskState::Pending => {
                let mut up = Upstreams::default();
                for &u in dag.upstreams(idx) {
                    let Some(state) = states.get(u).copied() else {
                        continue;
                    };
                    up.total += 1;
                    if state.is_terminal() {
                        up.done += 1;
                    }
                    match state {
                        TaskState::Success => {
                            up.success += 1;
                            let chosen = shape.branch_choices.get(u).and_then(Option::as_ref);
                            if chosen.is_some_and(|c| !c.contains(&idx)) {
                                up.not_chosen = true;
                            }
                        }
                        TaskState::Skipped => up.skipped += 1,
                        s if is_failure(s) => up.failed += 1,
                        _ => {}
                    }
                }
                let rule = shape.rules.get(idx).copied().unwrap_or_default();
                if let Some(next) = judge(rule, &up) {
                    decisions.push(match next {
                        TaskState::Queued => Decision::Enqueue(idx),
                        TaskState::Skipped => Decision::Skip(idx),
                        _ => Decision::UpstreamFailed(idx),
                    });
                    states[idx] = next;
                }
            }
            TaskState::RetryWait if view.retry_at.is_none_or(|at| at <= now) => {
                decisions.push(Decision::Enqueue(idx));
                states[idx] = TaskState::Queued;
            }
            _ => {}
        }
    }
    let main_done = states
        .iter()
        .enumerate()
        .all(|(i, s)| is_handler(i) || s.is_terminal());
    if !main_done {
        return decisions;
    }
    let main_ok = (0..states.len())
        .filter(|&i| !is_handler(i) && dag.downstreams(i).is_empty())
        .all(|i| matches!(states[i], TaskState::Success | TaskState::Skipped));
    let (run_handler, skip_handler) = if main_ok {
        (shape.on_success, shape.on_failure)
    } else {
        (shape.on_failure, shape.on_success)
    };
    for (handler, run_it) in [(run_handler, true), (skip_handler, false)] {
        let Some(idx) = handler else { continue };
        if states.get(idx) == Some(&TaskState::Pending) {
            decisions.push(if run_it {
                Decision::Enqueue(idx)
            } else {
                Decision::Skip(idx)
            });
            states[idx] = if run_it {
                TaskState::Queued
            } else {
                TaskState::Skipped
            };
        }
    }
    if states.iter().all(|s| s.is_terminal()) {
        let handler_failed =
            run_handler.is_some_and(|h| states.get(h).is_some_and(|s| is_failure(*s)));
        let outcome = if main_ok && !handler_failed {
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
