//! Reading back the scheduled runs of a window through the API: the run listing for
//! which fires happened, a sample of full runs for when their first task started, and
//! where the time between the nominal fire time and that start went.

use crate::concurrent::map_concurrent;
use crate::stats::delta_ms;
use crate::window::Window;
use anyhow::Context;
use chrono::{DateTime, Utc};
use orrery_client::types::Run;
use orrery_client::{Client, RunFilter};
use std::time::{Duration, Instant};

/// The listing's largest page.
const PAGE: u32 = 1000;

/// What listing the window's runs found (listing entries carry no task instances).
pub(crate) struct Listed {
    /// Scheduled runs whose `scheduled_at` is in the window.
    pub(crate) runs: Vec<Run>,
    /// Scheduled runs created in the window, whatever their `scheduled_at`: when the
    /// scheduler falls behind, these are its late catch-up fires.
    pub(crate) created_in_window: Vec<Run>,
    /// The listing stopped at its budget before reaching the window's start.
    pub(crate) truncated: bool,
}

/// The id of the newest run so far; runs created later have larger ids.
pub(crate) async fn newest_run_id(client: &Client) -> anyhow::Result<Option<i64>> {
    let filter = RunFilter {
        limit: Some(1),
        ..RunFilter::default()
    };
    let page = client
        .list_runs(&filter)
        .await
        .context("list the newest run")?;
    Ok(page.items.first().map(|run| run.id))
}

/// Scheduled runs with `scheduled_at` in `window` among the runs up to `newest_id`,
/// paging newest first and stopping at the first run created before the window
/// (a fire is never created before its nominal time).
/// The longest fire lead a server accepts: how much older than the window a run of it
/// can be.
const MAX_FIRE_LEAD: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

pub(crate) async fn list_window_runs(
    client: &Client,
    window: &Window,
    newest_id: i64,
    budget: Duration,
) -> anyhow::Result<Listed> {
    let began = Instant::now();
    let mut filter = RunFilter {
        limit: Some(PAGE),
        cursor: Some((newest_id + 1).to_string()),
        ..RunFilter::default()
    };
    let mut runs = Vec::new();
    let mut created_in_window = Vec::new();
    loop {
        let page = client
            .list_runs(&filter)
            .await
            .context("list the window's runs")?;
        // Runs are made up to the server's fire lead (at most 10 s) ahead of their
        // fire time: a run of the window's first second may be older than the window.
        let reached_start = page
            .items
            .last()
            .is_none_or(|run| run.created_at < window.start - MAX_FIRE_LEAD);
        for run in page.items {
            if run.trigger != "schedule" {
                continue;
            }
            if window.contains(run.created_at) {
                created_in_window.push(run.clone());
            }
            if run.scheduled_at.is_some_and(|at| window.contains(at)) {
                runs.push(run);
            }
        }
        let truncated = began.elapsed() > budget;
        match page.next_cursor {
            Some(cursor) if !reached_start && !truncated => filter.cursor = Some(cursor),
            _ => {
                return Ok(Listed {
                    runs,
                    created_in_window,
                    truncated: truncated && !reached_start,
                });
            }
        }
    }
}

/// At most `max` of `ids`, evenly spread, read in full.
pub(crate) async fn read_sample(
    client: &Client,
    ids: &[i64],
    max: usize,
    in_flight: u32,
    budget: Duration,
) -> anyhow::Result<Vec<Run>> {
    let client = client.clone();
    map_concurrent(even_sample(ids, max), in_flight, budget, move |id| {
        let client = client.clone();
        async move {
            client
                .get_run(id)
                .await
                .with_context(|| format!("read run {id}"))
        }
    })
    .await
}

/// At most `max` items spread evenly over `items`, in order.
pub(crate) fn even_sample<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if items.len() <= max {
        return items.to_vec();
    }
    (0..max).map(|k| items[k * items.len() / max]).collect()
}

/// One fire's way from its nominal time to its first task's start, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FireLatency {
    pub(crate) scheduled_at: DateTime<Utc>,
    /// First task `started_at` − `scheduled_at`; `None` if no task has started.
    pub(crate) lateness_ms: Option<f64>,
    /// Run `created_at` − `scheduled_at`: the wheel noticing the fire and its
    /// transaction committing.
    pub(crate) fire_ms: f64,
    /// Run `started_at` − `created_at`: the driver taking the run up and admitting it.
    pub(crate) admit_ms: Option<f64>,
    /// First task `queued_at` − run `started_at`.
    pub(crate) queue_ms: Option<f64>,
    /// First task `started_at` − its `queued_at`: commit, assignment, the worker's start.
    pub(crate) dispatch_ms: Option<f64>,
}

/// The latencies of a full (scheduled) run; `None` for a run without `scheduled_at`.
pub(crate) fn fire_latency(run: &Run) -> Option<FireLatency> {
    let scheduled_at = run.scheduled_at?;
    let first = run
        .tasks
        .iter()
        .filter(|task| task.started_at.is_some())
        .min_by_key(|task| task.started_at);
    let task_started = first.and_then(|task| task.started_at);
    let task_queued = first.and_then(|task| task.queued_at);
    let since = |later: Option<DateTime<Utc>>, earlier: Option<DateTime<Utc>>| {
        Some(delta_ms(later? - earlier?))
    };
    Some(FireLatency {
        scheduled_at,
        lateness_ms: since(task_started, Some(scheduled_at)),
        fire_ms: delta_ms(run.created_at - scheduled_at),
        admit_ms: since(run.started_at, Some(run.created_at)),
        queue_ms: since(task_queued, run.started_at),
        dispatch_ms: since(task_started, task_queued),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_evenly_and_keeps_small_inputs_whole() {
        assert_eq!(even_sample(&[1, 2, 3], 5), vec![1, 2, 3]);
        assert_eq!(
            even_sample(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5),
            vec![0, 2, 4, 6, 8]
        );
    }
}
