//! Sub-workflows (`type: job` tasks) between jobs: which jobs a spec starts, and
//! whether a new edge would close a loop of jobs starting each other.

use crate::spec::{JobSpec, TaskKind};
use std::collections::{BTreeMap, BTreeSet};

/// The jobs `spec`'s `type: job` tasks start, in task order (each once).
pub fn started_jobs(spec: &JobSpec) -> Vec<String> {
    let mut jobs: Vec<String> = Vec::new();
    for task in &spec.tasks {
        if let TaskKind::Job { job, .. } = &task.kind
            && !jobs.contains(job)
        {
            jobs.push(job.clone());
        }
    }
    jobs
}

/// The chain of jobs from `root` through `start` back to `root`, when `root` starting
/// `start` would close a loop; `children` maps each known job to the jobs it starts.
pub fn cycle_through(
    root: &str,
    start: &str,
    children: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut stack = vec![vec![root.to_owned(), start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let current = path.last()?.clone();
        if current == root {
            return Some(path);
        }
        if !seen.insert(current.clone()) {
            continue;
        }
        for child in children.get(&current).into_iter().flatten() {
            let mut next = path.clone();
            next.push(child.clone());
            stack.push(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(job, children)| {
                (
                    (*job).to_owned(),
                    children.iter().map(|c| (*c).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_loop_back_to_the_root_is_found_with_its_path() {
        let children = graph(&[("b", &["c"]), ("c", &["a"])]);
        assert_eq!(
            cycle_through("a", "b", &children),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(
            cycle_through("a", "a", &children),
            Some(vec!["a".into(), "a".into()])
        );
    }

    #[test]
    fn a_diamond_or_a_loop_elsewhere_is_not_a_cycle_through_the_root() {
        let children = graph(&[("b", &["d"]), ("c", &["d"]), ("d", &["e"]), ("e", &["d"])]);
        assert_eq!(cycle_through("a", "b", &children), None);
    }
}
