//! Reading latencies out of a finished run's task instances.

use crate::specs::task_name;
use crate::stats::delta_ms;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use orrery_client::types::{Run, TaskInstance};
use std::collections::{HashMap, HashSet};

/// The hand-over from one task of a chain to the next, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    /// Downstream `started_at` − upstream `finished_at`: the whole hand-over.
    pub(crate) total_ms: f64,
    /// Downstream `queued_at` − upstream `finished_at`: the scheduler noticing and
    /// releasing the downstream task.
    pub(crate) release_ms: f64,
    /// Downstream `started_at` − `queued_at`: dispatch to the worker and its start.
    pub(crate) dispatch_ms: f64,
}

/// The edges `t{i-1}` → `t{i}` of a chain of `n_tasks` tasks, from each task's last attempt.
pub(crate) fn chain_edges(run: &Run, n_tasks: u32) -> anyhow::Result<Vec<Edge>> {
    let last_attempts = last_attempts(run);
    let instance = |task_idx: u32| {
        let name = task_name(task_idx);
        last_attempts
            .get(name.as_str())
            .copied()
            .with_context(|| format!("run {} has no instance of {name}", run.id))
    };
    let mut edges = Vec::new();
    for task_idx in 1..n_tasks {
        let upstream = instance(task_idx - 1)?;
        let downstream = instance(task_idx)?;
        let upstream_finished = timestamp(upstream, "finished_at", upstream.finished_at)?;
        let queued = timestamp(downstream, "queued_at", downstream.queued_at)?;
        let started = timestamp(downstream, "started_at", downstream.started_at)?;
        edges.push(Edge {
            total_ms: delta_ms(started - upstream_finished),
            release_ms: delta_ms(queued - upstream_finished),
            dispatch_ms: delta_ms(started - queued),
        });
    }
    Ok(edges)
}

/// How long each task ran, `finished_at` − `started_at`, in milliseconds.
pub(crate) fn task_durations_ms(run: &Run) -> anyhow::Result<Vec<f64>> {
    last_attempts(run)
        .values()
        .map(|task| {
            let started = timestamp(task, "started_at", task.started_at)?;
            let finished = timestamp(task, "finished_at", task.finished_at)?;
            Ok(delta_ms(finished - started))
        })
        .collect()
}

/// How long each task waited to start once queued, `started_at` − `queued_at`, in
/// milliseconds: assignment to a worker with a free slot, and the worker starting it.
pub(crate) fn queued_to_started_ms(run: &Run) -> anyhow::Result<Vec<f64>> {
    last_attempts(run)
        .values()
        .map(|task| {
            let queued = timestamp(task, "queued_at", task.queued_at)?;
            let started = timestamp(task, "started_at", task.started_at)?;
            Ok(delta_ms(started - queued))
        })
        .collect()
}

/// How many distinct workers ran the last attempts of the run's tasks.
pub(crate) fn workers_used(run: &Run) -> usize {
    let workers: HashSet<&str> = last_attempts(run)
        .values()
        .filter_map(|task| task.worker.as_deref())
        .collect();
    workers.len()
}

/// The run's span on the server, `finished_at` − `created_at`, in milliseconds.
pub(crate) fn run_span_ms(run: &Run) -> anyhow::Result<f64> {
    let Some(finished) = run.finished_at else {
        bail!("run {} has no finished_at", run.id);
    };
    Ok(delta_ms(finished - run.created_at))
}

fn last_attempts(run: &Run) -> HashMap<&str, &TaskInstance> {
    let mut last: HashMap<&str, &TaskInstance> = HashMap::new();
    for task in &run.tasks {
        let newer = last
            .get(task.task.as_str())
            .is_none_or(|seen| seen.attempt < task.attempt);
        if newer {
            last.insert(task.task.as_str(), task);
        }
    }
    last
}

fn timestamp(
    task: &TaskInstance,
    field: &str,
    value: Option<DateTime<Utc>>,
) -> anyhow::Result<DateTime<Utc>> {
    value.with_context(|| format!("task {} attempt {} has no {field}", task.task, task.attempt))
}
