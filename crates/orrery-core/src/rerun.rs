//! Planning reruns and task retries of an ended run: which tasks keep their result and
//! which run again. Pure rules over the DAG and the latest state of each task.

use crate::dag::Dag;
use crate::state::TaskState;
use std::collections::BTreeSet;

/// Which of `attempts` is the latest of each of `n_tasks` tasks: `attempts` gives each
/// stored attempt's task index and attempt number, in any order; the answer gives, per
/// task, the position in `attempts` of its highest-numbered attempt (the first of
/// equals), `None` for a task with no attempt. Mapped instances of a fan-out task are
/// left out by the caller: this is the task's own record.
pub fn latest_attempts(
    n_tasks: usize,
    attempts: impl IntoIterator<Item = (usize, u32)>,
) -> Vec<Option<usize>> {
    let mut latest: Vec<Option<(usize, u32)>> = vec![None; n_tasks];
    for (position, (task_idx, attempt)) in attempts.into_iter().enumerate() {
        if let Some(slot) = latest.get_mut(task_idx)
            && slot.is_none_or(|(_, best)| attempt > best)
        {
            *slot = Some((position, attempt));
        }
    }
    latest
        .into_iter()
        .map(|best| best.map(|(position, _)| position))
        .collect()
}

/// The tasks a `--from-failed` rerun keeps (with their outputs): those that succeeded
/// and depend on nothing that runs again. Handlers (`is_handler`) are never kept: they
/// belong to the run that ends, so a rerun that fails runs its own `on_failure`.
/// `states[i]` is the latest state of task `i`.
pub fn kept_by_rerun_from_failed(
    dag: &Dag,
    states: &[TaskState],
    is_handler: impl Fn(usize) -> bool,
) -> BTreeSet<usize> {
    let redo = dag.with_descendants(
        states
            .iter()
            .enumerate()
            .filter(|(idx, state)| **state != TaskState::Success || is_handler(*idx))
            .map(|(idx, _)| idx),
    );
    states
        .iter()
        .enumerate()
        .filter(|(idx, state)| **state == TaskState::Success && !redo.contains(idx))
        .map(|(idx, _)| idx)
        .collect()
}

/// The tasks after `idx` that run again when `idx` is retried: those that never ran
/// (upstream failed, cancelled, or skipped by propagation), or all of them with
/// `everything`.
pub fn downstream_to_reset(
    dag: &Dag,
    states: &[TaskState],
    idx: usize,
    everything: bool,
) -> Vec<usize> {
    dag.with_descendants(dag.downstreams(idx).iter().copied())
        .into_iter()
        .filter(|d| {
            states.get(*d).is_some_and(|state| {
                everything
                    || matches!(
                        state,
                        TaskState::UpstreamFailed | TaskState::Cancelled | TaskState::Skipped
                    )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{SpecFormat, parse_job_spec};

    /// a → b → c, a → d; `page` is the on_failure handler.
    fn dag() -> Dag {
        let spec = parse_job_spec(
            "name: j\non_failure: page\ntasks:\n  - {name: a, type: noop}\n  - {name: b, type: noop, depends_on: [a]}\n  - {name: c, type: noop, depends_on: [b]}\n  - {name: d, type: noop, depends_on: [a]}\n  - {name: page, type: noop}\n",
            SpecFormat::Yaml,
        )
        .expect("valid");
        Dag::from_spec(&spec)
    }

    #[test]
    fn a_rerun_keeps_what_succeeded_outside_the_failure_and_never_the_handler() {
        use TaskState::*;
        let states = [Success, Failed, UpstreamFailed, Success, Success];
        let kept = kept_by_rerun_from_failed(&dag(), &states, |idx| idx == 4);
        assert_eq!(kept, BTreeSet::from([0, 3]));
    }

    #[test]
    fn a_retry_resets_the_tasks_after_it_that_never_ran_or_all_of_them() {
        use TaskState::*;
        let states = [Failed, UpstreamFailed, UpstreamFailed, Success, Skipped];
        assert_eq!(downstream_to_reset(&dag(), &states, 0, false), vec![1, 2]);
        assert_eq!(downstream_to_reset(&dag(), &states, 0, true), vec![1, 2, 3]);
    }

    #[test]
    fn the_latest_attempt_of_each_task_is_its_highest_numbered_one() {
        // Stored out of order; task 2 has none; an index past the tasks is ignored.
        let attempts = [(0, 1), (1, 2), (0, 3), (1, 1), (0, 2), (7, 9)];
        assert_eq!(latest_attempts(3, attempts), vec![Some(2), Some(1), None]);
    }

    #[test]
    fn ancestors_and_descendants_follow_the_edges() {
        let dag = dag();
        assert_eq!(dag.ancestors(2), BTreeSet::from([0, 1]));
        assert_eq!(dag.with_descendants([1]), BTreeSet::from([1, 2]));
        assert_eq!(dag.with_descendants([0]), BTreeSet::from([0, 1, 2, 3]));
    }
}

#[cfg(test)]
#[path = "rerun_props.rs"]
mod props;
