//! Property tests of rerun planning over random DAGs and random final states.

use super::*;
use crate::spec::{SpecFormat, parse_job_spec};
use proptest::prelude::*;

/// The states a task can end in.
fn final_states() -> Vec<TaskState> {
    TaskState::ALL
        .iter()
        .copied()
        .filter(|s| s.is_terminal())
        .collect()
}

/// A job of `deps.len()` noop tasks where task `i` depends on the earlier tasks
/// `deps[i]` names (so it is acyclic by construction); the last task is the
/// `on_failure` handler when `handler` is set.
fn job(deps: &[Vec<usize>], handler: bool) -> Dag {
    let mut yaml = String::from("name: p\n");
    if handler {
        yaml.push_str(&format!("on_failure: t{}\n", deps.len() - 1));
    }
    yaml.push_str("tasks:\n");
    for (i, upstreams) in deps.iter().enumerate() {
        let names: Vec<String> = upstreams.iter().map(|u| format!("t{u}")).collect();
        yaml.push_str(&format!(
            "  - {{name: t{i}, type: noop, depends_on: [{}]}}\n",
            names.join(", ")
        ));
    }
    let spec = parse_job_spec(&yaml, SpecFormat::Yaml).expect("a generated job is valid");
    Dag::from_spec(&spec)
}

/// Up to 10 tasks, each depending on a random set of earlier ones, with a final state.
fn runs() -> impl Strategy<Value = (Vec<Vec<usize>>, Vec<TaskState>)> {
    (1usize..10).prop_flat_map(|n| {
        let deps = (0..n)
            .map(|i| {
                proptest::collection::vec(0..i.max(1), 0..=i.min(3))
                    .prop_map(move |mut d| {
                        d.retain(|u| *u < i);
                        d.sort_unstable();
                        d.dedup();
                        d
                    })
                    .boxed()
            })
            .collect::<Vec<_>>();
        let states = proptest::collection::vec(proptest::sample::select(final_states()), n);
        (deps, states)
    })
}

proptest! {
    #[test]
    fn a_rerun_keeps_only_successes_whose_ancestors_all_succeeded((deps, states) in runs(), handler in any::<bool>()) {
        let handler = handler && deps.len() > 1 && deps[deps.len() - 1].is_empty();
        let dag = job(&deps, handler);
        let last = deps.len() - 1;
        let kept = kept_by_rerun_from_failed(&dag, &states, |idx| handler && idx == last);
        for &k in &kept {
            prop_assert_eq!(states[k], TaskState::Success);
            prop_assert!(!(handler && k == last), "a handler is never kept");
            for a in dag.ancestors(k) {
                prop_assert_eq!(states[a], TaskState::Success, "kept {} after {}", k, a);
                prop_assert!(kept.contains(&a), "kept {} but not its upstream {}", k, a);
            }
        }
        // Every success that is not kept has a reason: a handler, or an upstream that
        // runs again.
        for (idx, state) in states.iter().enumerate() {
            if *state == TaskState::Success && !kept.contains(&idx) {
                let reason = (handler && idx == last)
                    || dag.ancestors(idx).iter().any(|a| !kept.contains(a));
                prop_assert!(reason, "success {} dropped without a reason", idx);
            }
        }
    }

    #[test]
    fn a_retry_resets_only_tasks_downstream_of_it((deps, states) in runs(), pick in any::<proptest::sample::Index>(), everything in any::<bool>()) {
        let dag = job(&deps, false);
        let idx = pick.index(deps.len());
        let resets = downstream_to_reset(&dag, &states, idx, everything);
        let below = dag.with_descendants(dag.downstreams(idx).iter().copied());
        for r in &resets {
            prop_assert!(below.contains(r));
            prop_assert!(*r != idx);
            if !everything {
                prop_assert!(matches!(states[*r], TaskState::UpstreamFailed | TaskState::Cancelled | TaskState::Skipped));
            }
        }
        if everything {
            prop_assert_eq!(resets.len(), below.len());
        }
    }
}
