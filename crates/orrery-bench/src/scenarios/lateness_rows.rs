//! The `lateness` scenario's observations and the figures drawn from them.

use crate::apply::Applied;
use crate::cli::Phase;
use crate::fires::{FireLatency, Listed, fire_latency};
use crate::harness::ArmWait;
use crate::measurement::{Measurement, Rows};
use crate::prometheus::{HistogramDelta, MetricsSnapshot};
use crate::stats::{delta_ms, duration_ms, max, percentile};
use crate::window::Window;
use orrery_client::types::{Occurrence, Run};
use std::collections::HashSet;
use std::time::Duration;

const SCENARIO: &str = "lateness";
const FIRES: &str = "orrery_fires_total";
const LATENESS_HISTOGRAM: &str = "orrery_schedule_lateness_seconds";

/// The scheduler's progress at one instant of the window, against the window's start.
pub(crate) struct TimelinePoint {
    /// Fires stored as `fired` since the window's start.
    fired: f64,
    /// Runs the scheduler holds that have not ended.
    active_runs: f64,
    /// Tasks ready to run that no worker slot has taken yet.
    ready_tasks: f64,
    /// Scheduled jobs the scheduler holds in its wheel.
    scheduled_jobs: f64,
}

impl TimelinePoint {
    pub(crate) fn between(start: &MetricsSnapshot, now: &MetricsSnapshot) -> Self {
        Self {
            fired: fired(now) - fired(start),
            active_runs: now.sum("orrery_active_runs", ""),
            ready_tasks: now.sum("orrery_ready_tasks", ""),
            scheduled_jobs: now.sum("orrery_scheduled_jobs", ""),
        }
    }
}

fn fired(snapshot: &MetricsSnapshot) -> f64 {
    snapshot.sum(FIRES, "outcome=\"fired\"")
}

/// Everything one lateness configuration observed.
pub(crate) struct Observed {
    pub(crate) n_jobs: u32,
    pub(crate) n_applied: u32,
    pub(crate) phase: Phase,
    pub(crate) window: Window,
    pub(crate) applied: Applied,
    /// From the last apply until the scheduler had armed the last job.
    pub(crate) arm: ArmWait,
    /// Metrics half a second before the window and half a second before its end.
    pub(crate) before: MetricsSnapshot,
    pub(crate) after: MetricsSnapshot,
    /// One point per second of the window, half a second past the second.
    pub(crate) timeline: Vec<TimelinePoint>,
    pub(crate) cores_used: Option<f64>,
    pub(crate) rss_baseline_kib: Option<u64>,
    pub(crate) rss_end_kib: Option<u64>,
    pub(crate) listed: Listed,
    /// The sample of the window's runs read in full.
    pub(crate) full: Vec<Run>,
    /// Per sampled job, its ledger entries in the window.
    pub(crate) ledger: Vec<Vec<Occurrence>>,
    pub(crate) stop: Duration,
    /// False if the server had not stopped when the harness stopped waiting.
    pub(crate) stopped: bool,
    /// Runs of a shell job started during the window, and whether they fail (each
    /// raising alerts, routed to a webhook).
    pub(crate) load_runs: Option<(u32, bool)>,
}

pub(crate) fn to_rows(observed: &Observed) -> Vec<Measurement> {
    let config = if observed.n_applied == observed.n_jobs {
        format!("n={} {}", observed.n_jobs, observed.phase.as_str())
    } else {
        format!(
            "n={} (of {} asked) {}",
            observed.n_applied,
            observed.n_jobs,
            observed.phase.as_str()
        )
    };
    let config = match observed.load_runs {
        Some((runs, true)) => format!("{config}, {runs} runs failing and alerting"),
        Some((runs, false)) => format!("{config}, {runs} runs succeeding"),
        None => config,
    };
    let mut rows = Rows::new(SCENARIO, config);
    apply_rows(&mut rows, observed);
    throughput_rows(&mut rows, observed);
    lateness_rows(&mut rows, observed);
    ledger_rows(&mut rows, observed);
    resource_rows(&mut rows, observed);
    rows.into_vec()
}

fn apply_rows(rows: &mut Rows, observed: &Observed) {
    let applied = &observed.applied;
    rows.add("apply_rate", applied.jobs_per_second(), "jobs/s");
    rows.add("apply_p50", percentile(&applied.latencies_ms, 50.0), "ms");
    rows.add("apply_p99", percentile(&applied.latencies_ms, 99.0), "ms");
    rows.add("apply_busy_retries", applied.retries as f64, "requests");
    rows.add("apply_failed", f64::from(applied.n_failed), "jobs");
    rows.add("arm_wait", duration_ms(observed.arm.waited), "ms");
    rows.add("arm_wakes_needed", f64::from(observed.arm.wakes), "count");
    rows.add(
        "last_job_armed",
        f64::from(u8::from(observed.arm.armed)),
        "flag",
    );
}

fn throughput_rows(rows: &mut Rows, observed: &Observed) {
    let secs = observed.window.secs();
    let n = f64::from(observed.n_applied);
    let fired_in_window = fired(&observed.after) - fired(&observed.before);
    rows.add("fires_per_s_expected", n, "fires/s");
    rows.add("fires_per_s", fired_in_window / secs, "fires/s");
    for (metric, outcome) in [("missed", "missed"), ("skipped_overlap", "skipped_overlap")] {
        let label = format!("outcome=\"{outcome}\"");
        let count = observed.after.sum(FIRES, &label) - observed.before.sum(FIRES, &label);
        rows.add(metric, count, "fires");
    }
    // Expected fires minus fires stored, sampled each second: bounded if the scheduler
    // keeps up, growing by the shortfall per second if not.
    let deficits: Vec<f64> = observed
        .timeline
        .iter()
        .enumerate()
        .map(|(second, point)| (second + 1) as f64 * n - point.fired)
        .collect();
    if let (Some(first), Some(last)) = (deficits.first(), deficits.last()) {
        rows.add("backlog_first_s", *first, "fires");
        rows.add("backlog_last_s", *last, "fires");
        let span = deficits.len().saturating_sub(1).max(1) as f64;
        rows.add("backlog_growth", (last - first) / span, "fires/s");
    }
    if let Some(point) = observed.timeline.last() {
        rows.add("active_runs_last_s", point.active_runs, "runs");
        rows.add("ready_tasks_last_s", point.ready_tasks, "tasks");
        rows.add("jobs_armed_last_s", point.scheduled_jobs, "jobs");
    }
    let expected = n * f64::from(observed.window.whole_secs());
    let runs = &observed.listed.runs;
    let distinct: HashSet<(&str, i64)> = runs
        .iter()
        .filter_map(|run| Some((run.job.as_str(), run.scheduled_at?.timestamp_micros())))
        .collect();
    rows.add("window_fires_expected", expected, "fires");
    rows.add("window_runs", runs.len() as f64, "runs");
    rows.add(
        "duplicate_runs",
        (runs.len() - distinct.len()) as f64,
        "runs",
    );
    rows.add(
        "fires_without_run",
        (expected - distinct.len() as f64).max(0.0),
        "fires",
    );
    if observed.listed.truncated {
        rows.add("listing_truncated", 1.0, "flag");
    }
}

fn lateness_rows(rows: &mut Rows, observed: &Observed) {
    let latencies: Vec<FireLatency> = observed.full.iter().filter_map(fire_latency).collect();
    let started: Vec<f64> = latencies.iter().filter_map(|l| l.lateness_ms).collect();
    rows.add("runs_read", latencies.len() as f64, "runs");
    rows.add(
        "runs_unstarted",
        (latencies.len() - started.len()) as f64,
        "runs",
    );
    rows.add("lateness_p50", percentile(&started, 50.0), "ms");
    rows.add("lateness_p99", percentile(&started, 99.0), "ms");
    rows.add("lateness_max", max(&started), "ms");
    let part = |pick: fn(&FireLatency) -> Option<f64>| -> Vec<f64> {
        latencies.iter().filter_map(pick).collect()
    };
    let parts: [(&'static str, &'static str, Vec<f64>); 4] = [
        ("fire_p50", "fire_p99", part(|l| Some(l.fire_ms))),
        ("admit_p50", "admit_p99", part(|l| l.admit_ms)),
        ("queue_p50", "queue_p99", part(|l| l.queue_ms)),
        ("dispatch_p50", "dispatch_p99", part(|l| l.dispatch_ms)),
    ];
    for (p50, p99, values) in parts {
        rows.add(p50, percentile(&values, 50.0), "ms");
        rows.add(p99, percentile(&values, 99.0), "ms");
    }
    // Lateness in the first and last second of the window: rising means falling behind.
    let in_second = |second: i64| -> Vec<f64> {
        let from = observed.window.start + chrono::TimeDelta::seconds(second);
        let to = from + chrono::TimeDelta::seconds(1);
        latencies
            .iter()
            .filter(|l| from <= l.scheduled_at && l.scheduled_at < to)
            .filter_map(|l| l.lateness_ms)
            .collect()
    };
    let last_second = i64::from(observed.window.whole_secs()) - 1;
    rows.add(
        "lateness_first_s_p50",
        percentile(&in_second(0), 50.0),
        "ms",
    );
    rows.add(
        "lateness_last_s_p50",
        percentile(&in_second(last_second), 50.0),
        "ms",
    );
    // Fires stored during the window, whatever their nominal time: how far behind the
    // wheel runs when it cannot keep up.
    let delays: Vec<f64> = observed
        .listed
        .created_in_window
        .iter()
        .filter_map(|run| Some(delta_ms(run.created_at - run.scheduled_at?)))
        .collect();
    rows.add("created_in_window", delays.len() as f64, "runs");
    rows.add(
        "created_in_window_fire_p50",
        percentile(&delays, 50.0),
        "ms",
    );
    rows.add("created_in_window_fire_max", max(&delays), "ms");
    let histogram = HistogramDelta::between(&observed.before, &observed.after, LATENESS_HISTOGRAM);
    rows.add(
        "first_tasks_started_per_s",
        histogram.count() / observed.window.secs(),
        "tasks/s",
    );
    rows.add(
        "metrics_lateness_p99_bucket",
        histogram.percentile_bound(99.0) * 1000.0,
        "ms (le)",
    );
}

fn ledger_rows(rows: &mut Rows, observed: &Observed) {
    let jobs = observed.ledger.len();
    let count = |outcome: &str| -> f64 {
        observed
            .ledger
            .iter()
            .flatten()
            .filter(|entry| entry.outcome == outcome)
            .count() as f64
    };
    let recorded: usize = observed.ledger.iter().map(Vec::len).sum();
    let expected = jobs as f64 * f64::from(observed.window.whole_secs());
    rows.add("ledger_jobs_read", jobs as f64, "jobs");
    rows.add("ledger_fired", count("fired"), "fires");
    rows.add("ledger_missed", count("missed"), "fires");
    rows.add("ledger_skipped_overlap", count("skipped_overlap"), "fires");
    rows.add(
        "ledger_absent",
        (expected - recorded as f64).max(0.0),
        "fires",
    );
}

fn resource_rows(rows: &mut Rows, observed: &Observed) {
    if let Some(cores) = observed.cores_used {
        rows.add("cpu", cores, "cores");
    }
    if let Some(end) = observed.rss_end_kib {
        rows.add("rss", end as f64 / 1024.0, "MiB");
        if let Some(baseline) = observed.rss_baseline_kib {
            rows.add(
                "rss_over_baseline",
                (end as f64 - baseline as f64) / 1024.0,
                "MiB",
            );
        }
    }
    rows.add("shutdown", duration_ms(observed.stop), "ms");
    if !observed.stopped {
        rows.add("shutdown_timed_out", 1.0, "flag");
    }
}
