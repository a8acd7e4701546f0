//! DAG analysis of a job's tasks: indices, upstreams/downstreams, order and cycles.

use crate::spec::JobSpec;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};

/// The dependency graph of a valid job; task indices follow spec order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dag {
    names: Vec<String>,
    index_by_name: HashMap<String, usize>,
    upstreams: Vec<Vec<usize>>,
    downstreams: Vec<Vec<usize>>,
    /// Computed once: every advance of a run walks it, and a 10,000-task fan-out
    /// would otherwise sort 10,000 tasks at each result.
    order: Vec<usize>,
}

impl Dag {
    /// Builds the graph of a spec. The spec is expected to be valid (as produced by
    /// [`crate::spec::parse_job_spec`]); on a hand-built spec unknown dependency names
    /// and repeated dependencies are ignored rather than panicking.
    pub fn from_spec(spec: &JobSpec) -> Dag {
        let names: Vec<String> = spec.tasks.iter().map(|task| task.name.clone()).collect();
        let mut index_by_name = HashMap::with_capacity(names.len());
        for (task_idx, name) in names.iter().enumerate() {
            index_by_name.entry(name.clone()).or_insert(task_idx);
        }
        let mut upstreams = vec![Vec::new(); names.len()];
        let mut downstreams = vec![Vec::new(); names.len()];
        for (task_idx, task) in spec.tasks.iter().enumerate() {
            for dependency in &task.depends_on {
                let Some(&upstream_idx) = index_by_name.get(dependency) else {
                    continue;
                };
                if !upstreams[task_idx].contains(&upstream_idx) {
                    upstreams[task_idx].push(upstream_idx);
                    downstreams[upstream_idx].push(task_idx);
                }
            }
        }
        let mut dag = Dag {
            names,
            index_by_name,
            upstreams,
            downstreams,
            order: Vec::new(),
        };
        dag.order = dag.compute_order();
        dag
    }

    /// `start` and every task that depends on them, directly or not.
    pub fn with_descendants(&self, start: impl IntoIterator<Item = usize>) -> BTreeSet<usize> {
        self.reach(start, |idx| self.downstreams(idx))
    }

    /// Every task `idx` depends on, directly or not (not `idx` itself).
    pub fn ancestors(&self, idx: usize) -> BTreeSet<usize> {
        self.reach(self.upstreams(idx).iter().copied(), |i| self.upstreams(i))
    }

    fn reach<'a>(
        &'a self,
        start: impl IntoIterator<Item = usize>,
        next: impl Fn(usize) -> &'a [usize],
    ) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = start.into_iter().collect();
        while let Some(idx) = stack.pop() {
            if seen.insert(idx) {
                stack.extend_from_slice(next(idx));
            }
        }
        seen
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the job has no task (never the case for a valid spec).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Name of the task at `idx`; panics when `idx >= len()`.
    pub fn name(&self, idx: usize) -> &str {
        &self.names[idx]
    }

    /// Index of the task called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index_by_name.get(name).copied()
    }

    /// Tasks that `idx` depends on, in `depends_on` order; panics when `idx >= len()`.
    pub fn upstreams(&self, idx: usize) -> &[usize] {
        &self.upstreams[idx]
    }

    /// Tasks that depend on `idx`, in spec order; panics when `idx >= len()`.
    pub fn downstreams(&self, idx: usize) -> &[usize] {
        &self.downstreams[idx]
    }

    /// Tasks without upstreams, in spec order.
    pub fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(|&idx| self.upstreams[idx].is_empty())
    }

    /// Every task after all of its upstreams; among tasks that are ready at the same
    /// time the one earliest in the spec comes first. Tasks on a cycle (impossible in
    /// a valid spec) are left out.
    pub fn topological_order(&self) -> &[usize] {
        &self.order
    }

    fn compute_order(&self) -> Vec<usize> {
        let mut n_waiting: Vec<usize> = self.upstreams.iter().map(Vec::len).collect();
        let mut ready: BinaryHeap<Reverse<usize>> = self.roots().map(Reverse).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(Reverse(task_idx)) = ready.pop() {
            order.push(task_idx);
            for &downstream_idx in &self.downstreams[task_idx] {
                n_waiting[downstream_idx] -= 1;
                if n_waiting[downstream_idx] == 0 {
                    ready.push(Reverse(downstream_idx));
                }
            }
        }
        order
    }
}

/// One dependency cycle, if any, among `names.len()` nodes joined by `edges`
/// `(upstream, downstream)`. See [`find_cycles`] for the shape of the answer.
pub fn find_cycle(names: &[&str], edges: &[(usize, usize)]) -> Option<Vec<usize>> {
    find_cycles(names.len(), edges).into_iter().next()
}

/// One cycle per group of tasks that wait on each other, ordered by their first task.
///
/// Each cycle lists its tasks along the edges (upstream before downstream), starts at
/// the cycle's earliest task and repeats it at the end: `[a, b, c, a]` for `b` depending
/// on `a`, `c` on `b` and `a` on `c`. It is a shortest cycle through that task. Edges
/// naming a node `>= n_nodes` are ignored.
pub fn find_cycles(n_nodes: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut successors = vec![Vec::new(); n_nodes];
    let mut graph = DiGraph::<(), ()>::with_capacity(n_nodes, edges.len());
    let nodes: Vec<NodeIndex> = (0..n_nodes).map(|_| graph.add_node(())).collect();
    for &(from, to) in edges {
        if from < n_nodes && to < n_nodes {
            successors[from].push(to);
            graph.add_edge(nodes[from], nodes[to], ());
        }
    }
    let mut cycles: Vec<Vec<usize>> = tarjan_scc(&graph)
        .into_iter()
        .filter_map(|component| {
            let members: Vec<usize> = component.iter().map(|node| node.index()).collect();
            let start = *members.iter().min()?;
            let in_component = |idx: &usize| members.contains(idx);
            if members.len() == 1 && !successors[start].contains(&start) {
                return None;
            }
            shortest_cycle_through(start, &successors, in_component)
        })
        .collect();
    cycles.sort();
    cycles
}

/// Breadth-first search from `start` back to itself, staying inside one component.
fn shortest_cycle_through(
    start: usize,
    successors: &[Vec<usize>],
    in_component: impl Fn(&usize) -> bool,
) -> Option<Vec<usize>> {
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in &successors[node] {
            if next == start {
                let mut cycle = vec![start, node];
                let mut current = node;
                while let Some(&previous) = came_from.get(&current) {
                    cycle.push(previous);
                    current = previous;
                }
                cycle.reverse();
                return Some(cycle);
            }
            if in_component(&next) && next != start && !came_from.contains_key(&next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{SpecFormat, parse_job_spec};

    fn dag(tasks: &[(&str, &[&str])]) -> Dag {
        let tasks: Vec<serde_json::Value> = tasks
            .iter()
            .map(|(name, deps)| serde_json::json!({"name": name, "type": "noop", "depends_on": deps}))
            .collect();
        let json = serde_json::json!({"name": "job", "tasks": tasks}).to_string();
        let spec = parse_job_spec(&json, SpecFormat::Json).expect("valid spec");
        Dag::from_spec(&spec)
    }

    #[test]
    fn indexes_tasks_in_spec_order_with_their_edges() {
        let dag = dag(&[
            ("load", &["extract", "fetch"]),
            ("extract", &[]),
            ("fetch", &[]),
            ("report", &["load"]),
            ("audit", &["extract"]),
        ]);
        assert_eq!(dag.len(), 5);
        assert!(!dag.is_empty());
        assert_eq!(dag.name(3), "report");
        assert_eq!(dag.index_of("fetch"), Some(2));
        assert_eq!(dag.index_of("nope"), None);
        assert_eq!(dag.upstreams(0), &[1, 2]);
        assert_eq!(dag.downstreams(1), &[0, 4]);
        assert_eq!(dag.downstreams(3), &[] as &[usize]);
        assert_eq!(dag.roots().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(dag.topological_order(), vec![1, 2, 0, 3, 4]);
    }

    #[test]
    fn topological_order_prefers_spec_order_among_ready_tasks() {
        let dag = dag(&[("c", &["a"]), ("b", &[]), ("a", &[]), ("d", &["b"])]);
        assert_eq!(dag.topological_order(), vec![1, 2, 0, 3]);
    }

    #[test]
    fn finds_cycles_in_edge_order_starting_at_the_earliest_task() {
        // b after a, c after b, a after c: a → b → c → a.
        let names = ["a", "b", "c", "d"];
        assert_eq!(
            find_cycle(&names, &[(0, 1), (1, 2), (2, 0), (2, 3)]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&names, &[(0, 1), (1, 2), (2, 3)]), None);
        assert_eq!(find_cycle(&names, &[(2, 2)]), Some(vec![2, 2]));
        assert_eq!(
            find_cycles(4, &[(3, 2), (2, 3), (0, 1), (1, 0)]),
            vec![vec![0, 1, 0], vec![2, 3, 2]]
        );
        // A long way round and a shortcut: the shortest cycle through `a` is reported.
        assert_eq!(
            find_cycle(&names, &[(0, 1), (1, 2), (2, 3), (3, 0), (1, 0)]),
            Some(vec![0, 1, 0])
        );
    }
}
