//! Registering many generated jobs through the API with a fixed number of requests in
//! flight, stopping early when a time budget runs out.

use anyhow::Context;
use orrery_client::Client;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How many jobs to apply and how.
pub(crate) struct ApplyPlan {
    pub(crate) n_jobs: u32,
    pub(crate) in_flight: u32,
    /// No new request starts after this; the jobs applied so far are reported.
    pub(crate) budget: Duration,
}

/// What applying achieved.
pub(crate) struct Applied {
    /// Jobs `0..n_applied` were applied: a prefix, since requests take indices in order
    /// and every request started is finished.
    pub(crate) n_applied: u32,
    pub(crate) elapsed: Duration,
    /// Each request's latency, in completion order per requester, in milliseconds.
    pub(crate) latencies_ms: Vec<f64>,
    /// When each job's apply completed, since the start, ascending.
    pub(crate) completed_at: Vec<Duration>,
}

impl Applied {
    pub(crate) fn jobs_per_second(&self) -> f64 {
        f64::from(self.n_applied) / self.elapsed.as_secs_f64()
    }

    /// The rate over the completions between fractions `from` and `to` of the jobs
    /// applied (e.g. 0.9..1.0 for the last tenth), to see it change as jobs pile up.
    pub(crate) fn jobs_per_second_between(&self, from: f64, to: f64) -> f64 {
        let n = self.completed_at.len();
        let first = ((n as f64 * from) as usize).min(n.saturating_sub(1));
        let last = ((n as f64 * to) as usize).clamp(1, n.max(1)) - 1;
        match (self.completed_at.get(first), self.completed_at.get(last)) {
            (Some(start), Some(end)) if last > first => {
                (last - first) as f64 / (*end - *start).as_secs_f64()
            }
            _ => f64::NAN,
        }
    }
}

/// Applies `spec_of(i)` for `i` in `0..n_jobs`, `in_flight` requests at a time.
pub(crate) async fn apply_many(
    client: &Client,
    plan: &ApplyPlan,
    spec_of: impl Fn(u32) -> String + Send + Sync + 'static,
) -> anyhow::Result<Applied> {
    let spec_of = Arc::new(spec_of);
    let next = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let mut requesters = tokio::task::JoinSet::new();
    for _ in 0..plan.in_flight.max(1) {
        let client = client.clone();
        let spec_of = spec_of.clone();
        let next = next.clone();
        let (n_jobs, budget) = (plan.n_jobs, plan.budget);
        requesters.spawn(async move {
            let mut timings = Vec::new();
            while started.elapsed() < budget {
                let job_idx = next.fetch_add(1, Ordering::Relaxed);
                if job_idx >= n_jobs {
                    break;
                }
                let sent = Instant::now();
                client
                    .apply(&spec_of(job_idx), "yaml")
                    .await
                    .with_context(|| format!("apply job {job_idx}"))?;
                timings.push((sent.elapsed(), started.elapsed()));
            }
            anyhow::Ok(timings)
        });
    }
    let mut latencies_ms = Vec::new();
    let mut completed_at = Vec::new();
    while let Some(joined) = requesters.join_next().await {
        for (latency, done) in joined.context("join an apply requester")?? {
            latencies_ms.push(crate::stats::duration_ms(latency));
            completed_at.push(done);
        }
    }
    completed_at.sort();
    Ok(Applied {
        n_applied: u32::try_from(completed_at.len()).unwrap_or(u32::MAX),
        elapsed: started.elapsed(),
        latencies_ms,
        completed_at,
    })
}
