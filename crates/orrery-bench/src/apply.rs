//! Registering many generated jobs through the API with a fixed number of requests in
//! flight, stopping early when a time budget runs out, and retrying what the server
//! calls retryable.

use crate::concurrent::map_concurrent;
use crate::stats::duration_ms;
use anyhow::Context;
use orrery_client::{Client, ClientError};
use std::sync::Arc;
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
    /// The indices of the jobs applied, ascending.
    pub(crate) jobs: Vec<u32>,
    pub(crate) n_applied: u32,
    /// Jobs the server still refused as unavailable after `RETRY_FOR` of retries.
    pub(crate) n_failed: u32,
    pub(crate) elapsed: Duration,
    /// Each applied job's latency in milliseconds, retries included.
    pub(crate) latencies_ms: Vec<f64>,
    /// Requests the server refused as unavailable (503, retryable) and that were sent
    /// again; concurrent applies can collide on the SQLite write lock.
    pub(crate) retries: u64,
    /// When each job's apply completed, since the start, ascending.
    completed_at: Vec<Duration>,
}

impl Applied {
    pub(crate) fn jobs_per_second(&self) -> f64 {
        f64::from(self.n_applied) / self.elapsed.as_secs_f64()
    }

    /// The last job applied.
    pub(crate) fn last_job(&self) -> Option<u32> {
        self.jobs.last().copied()
    }

    /// The rate over the completions between fractions `from` and `to` of the jobs
    /// applied (0.9, 1.0 for the last tenth), to see it change as jobs pile up.
    pub(crate) fn jobs_per_second_between(&self, from: f64, to: f64) -> f64 {
        let n = self.completed_at.len();
        if n < 2 {
            return f64::NAN;
        }
        let first = ((n as f64 * from) as usize).min(n - 1);
        let last = ((n as f64 * to) as usize).clamp(1, n) - 1;
        match (self.completed_at.get(first), self.completed_at.get(last)) {
            (Some(start), Some(end)) if last > first && end > start => {
                (last - first) as f64 / (*end - *start).as_secs_f64()
            }
            _ => f64::NAN,
        }
    }
}

/// One job's apply.
struct Attempt {
    job_idx: u32,
    applied: bool,
    latency: Duration,
    done: Duration,
    retries: u64,
}

/// Applies `spec_of(i)` for `i` in `0..n_jobs`, `in_flight` requests at a time. A job
/// the server keeps refusing as unavailable is counted as failed and skipped; any
/// other refusal ends the whole apply with an error.
pub(crate) async fn apply_many(
    client: &Client,
    plan: &ApplyPlan,
    spec_of: impl Fn(u32) -> String + Send + Sync + 'static,
) -> anyhow::Result<Applied> {
    let spec_of = Arc::new(spec_of);
    let client = client.clone();
    let started = Instant::now();
    let attempts = map_concurrent(
        (0..plan.n_jobs).collect(),
        plan.in_flight,
        plan.budget,
        move |job_idx| {
            let client = client.clone();
            let spec = spec_of(job_idx);
            async move {
                let sent = Instant::now();
                let (applied, retries) = match apply_with_retries(&client, &spec).await {
                    Ok(retries) => (true, retries),
                    Err(Refused::StillUnavailable { retries }) => (false, retries),
                    Err(Refused::Other(error)) => {
                        return Err(error).with_context(|| format!("apply job {job_idx}"));
                    }
                };
                anyhow::Ok(Attempt {
                    job_idx,
                    applied,
                    latency: sent.elapsed(),
                    done: started.elapsed(),
                    retries,
                })
            }
        },
    )
    .await?;
    let elapsed = started.elapsed();
    let ok: Vec<&Attempt> = attempts.iter().filter(|a| a.applied).collect();
    let mut jobs: Vec<u32> = ok.iter().map(|a| a.job_idx).collect();
    jobs.sort_unstable();
    let mut completed_at: Vec<Duration> = ok.iter().map(|a| a.done).collect();
    completed_at.sort();
    Ok(Applied {
        n_applied: u32::try_from(jobs.len()).unwrap_or(u32::MAX),
        n_failed: u32::try_from(attempts.len() - ok.len()).unwrap_or(u32::MAX),
        jobs,
        elapsed,
        latencies_ms: ok.iter().map(|a| duration_ms(a.latency)).collect(),
        retries: attempts.iter().map(|a| a.retries).sum(),
        completed_at,
    })
}

/// How long one job is retried while the server answers 503.
const RETRY_FOR: Duration = Duration::from_secs(10);

/// Why a job was not applied.
enum Refused {
    /// 503 (unavailable, which the API documents as retryable) for all of `RETRY_FOR`.
    StillUnavailable {
        retries: u64,
    },
    Other(ClientError),
}

/// Applies one spec, sending it again after a short pause while the server answers
/// 503; returns the retries.
async fn apply_with_retries(client: &Client, spec: &str) -> Result<u64, Refused> {
    let began = Instant::now();
    let mut retries = 0;
    loop {
        match client.apply(spec, "yaml").await {
            Ok(_) => return Ok(retries),
            Err(error) if is_retryable(&error) => {
                if began.elapsed() > RETRY_FOR {
                    return Err(Refused::StillUnavailable { retries });
                }
                retries += 1;
                tokio::time::sleep(Duration::from_millis(2 * retries.min(10))).await;
            }
            Err(error) => return Err(Refused::Other(error)),
        }
    }
}

fn is_retryable(error: &ClientError) -> bool {
    error.problem().is_some_and(|problem| problem.status == 503)
}
