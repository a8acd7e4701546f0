//! `run-starts`: on an idle server, how long a run takes from its start request to
//! its first task's start (enqueue → start); then how many runs the API starts per
//! second with many clients at once, each answered only once its run is stored.

use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::Rows;
use crate::stats::{delta_ms, duration_ms, median, percentile};
use anyhow::Context;
use orrery_core::clock::{Clock, SystemClock};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

const SCENARIO: &str = "run-starts";
const JOB: &str = "bench-starts";
/// Slots of the embedded worker: enough that started runs never wait for one.
const SLOTS: u32 = 64;

pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<crate::measurement::Measurement>> {
    let slots = NonZeroU32::new(SLOTS).context("slots")?;
    let mut measurements = Vec::new();
    let server = BenchServer::start(slots, args.run_wait()).await?;
    server
        .apply(&format!(
            "name: {JOB}\ntasks:\n  - {{name: t0, type: noop}}\n"
        ))
        .await?;
    let samples = args.enqueue_samples.get();
    let mut rows = Rows::new(SCENARIO, format!("idle, {samples} runs one at a time"));
    let mut enqueue_to_start = Vec::new();
    for _ in 0..samples {
        let sent = SystemClock.now();
        let finished = server.run_to_end(JOB).await?;
        let started = finished
            .run
            .tasks
            .first()
            .and_then(|task| task.started_at)
            .context("the run's task has no start time")?;
        enqueue_to_start.push(delta_ms(started - sent));
    }
    rows.add("enqueue_to_start_p50", median(&enqueue_to_start), "ms");
    rows.add(
        "enqueue_to_start_p99",
        percentile(&enqueue_to_start, 99.0),
        "ms",
    );
    measurements.extend(rows.into_vec());

    let budget = Duration::from_secs(u64::from(args.start_secs.get()));
    for &clients in &args.start_clients {
        let (count, elapsed, latencies) =
            start_runs(server.client(), JOB, clients.get(), budget).await?;
        eprintln!("{SCENARIO} clients={clients}: {count} runs started in {elapsed:.1} s");
        let mut rows = Rows::new(SCENARIO, format!("clients={clients}"));
        rows.add("starts", count as f64 / elapsed, "runs/s");
        rows.add("request_p50", median(&latencies), "ms");
        rows.add("request_p99", percentile(&latencies, 99.0), "ms");
        measurements.extend(rows.into_vec());
    }
    server.stop().await?;
    Ok(measurements)
}

/// `clients` clients starting runs of `job` for `budget`: how many started, in how
/// many seconds, and each request's latency (ms).
pub(crate) async fn start_runs(
    client: &orrery_client::Client,
    job: &str,
    clients: u32,
    budget: Duration,
) -> anyhow::Result<(usize, f64, Vec<f64>)> {
    let mut callers = tokio::task::JoinSet::new();
    let began = Instant::now();
    for _ in 0..clients {
        let client = client.clone();
        let job = job.to_owned();
        callers.spawn(async move {
            let mut latencies = Vec::new();
            while began.elapsed() < budget {
                let sent = Instant::now();
                client
                    .start_run(&job, &Default::default())
                    .await
                    .context("start a run")?;
                latencies.push(duration_ms(sent.elapsed()));
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = callers.join_next().await {
        latencies.extend(joined.context("a client panicked")??);
    }
    Ok((latencies.len(), began.elapsed().as_secs_f64(), latencies))
}
