//! `lateness`: N jobs each firing every second with one noop task. How late each
//! fire's task starts against its nominal time, whether every fire happens exactly
//! once, and what the in-process server spends on it in CPU and memory.

use super::lateness_rows::{Observed, TimelinePoint, to_rows};
use crate::apply::{ApplyPlan, apply_many};
use crate::cli::{Args, Phase};
use crate::concurrent::map_concurrent;
use crate::fires::{even_sample, list_window_runs, newest_run_id, read_sample};
use crate::harness::BenchServer;
use crate::measurement::Measurement;
use crate::process::{CpuMeter, rss_kib};
use crate::specs;
use crate::window::{Window, sleep_until};
use anyhow::{Context, bail};
use chrono::TimeDelta;
use orrery_client::types::Occurrence;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// Registering must leave time for the rest within about two minutes.
const APPLY_BUDGET_CAP: Duration = Duration::from_secs(45);
/// Longest wait for the scheduler to arm the last job applied.
const ARM_TIMEOUT: Duration = Duration::from_secs(20);
/// After the window, for its last fires to be stored before the runs are listed.
const GRACE: Duration = Duration::from_secs(2);
const LIST_BUDGET: Duration = Duration::from_secs(25);
const READ_BUDGET: Duration = Duration::from_secs(20);
const LEDGER_BUDGET: Duration = Duration::from_secs(10);
/// Longest wait for the server to stop after the scenario.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Ledger entries read per job: the window plus everything fired since.
const LEDGER_LIMIT: u32 = 1000;

/// Runs every `--lateness-jobs` count with every `--lateness-phases` phase, each on a
/// fresh server.
pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let mut measurements = Vec::new();
    for &n_jobs in &args.lateness_jobs {
        for &phase in &args.lateness_phases {
            let rows = run_one(args, n_jobs, phase)
                .await
                .with_context(|| format!("n={n_jobs} {}", phase.as_str()))?;
            measurements.extend(rows);
        }
    }
    Ok(measurements)
}

fn job_name(job_idx: u32) -> String {
    format!("tick-{job_idx:05}")
}

/// Job `job_idx` of `n_jobs` fires this many microseconds past each second.
fn offset_micros(phase: Phase, job_idx: u32, n_jobs: u32) -> u32 {
    match phase {
        Phase::Aligned => 0,
        Phase::Staggered => {
            u32::try_from(u64::from(job_idx) * 1_000_000 / u64::from(n_jobs)).unwrap_or(0)
        }
    }
}

async fn run_one(
    args: &Args,
    n_jobs: NonZeroU32,
    phase: Phase,
) -> anyhow::Result<Vec<Measurement>> {
    let n_jobs = n_jobs.get();
    let server = BenchServer::start(args.lateness_slots, args.run_wait()).await?;
    let client = server.client().clone();
    let rss_baseline_kib = rss_kib();
    let plan = ApplyPlan {
        n_jobs,
        in_flight: args.in_flight.get(),
        budget: APPLY_BUDGET_CAP.min(Duration::from_secs(u64::from(args.apply_budget_secs.get()))),
    };
    let applied = apply_many(&client, &plan, move |job_idx| {
        specs::every_second(&job_name(job_idx), offset_micros(phase, job_idx, n_jobs))
    })
    .await?;
    let n_applied = applied.n_applied;
    let Some(last_job) = applied.last_job() else {
        bail!("no job was applied within {:?}", plan.budget);
    };
    eprintln!(
        "lateness n={n_jobs} {}: applied {n_applied} jobs in {:.1} s",
        phase.as_str(),
        applied.elapsed.as_secs_f64()
    );
    // A scheduler that cannot keep up may never arm the last jobs; the window is
    // measured anyway, and the figures say how many jobs it held.
    let arm = server
        .wait_until_armed(&job_name(last_job), ARM_TIMEOUT)
        .await?;
    if !arm.armed {
        eprintln!(
            "lateness n={n_jobs} {}: the scheduler did not arm the last job within {ARM_TIMEOUT:?}; measuring anyway",
            phase.as_str()
        );
    }

    let measured_secs = args
        .lateness_secs
        .get()
        .saturating_sub(args.lateness_warmup_secs)
        .max(1);
    let window = Window::after(args.lateness_warmup_secs, measured_secs);
    let load_runs = args.lateness_load_runs;
    let load_fails = !args.lateness_load_succeeds;
    let load = if load_runs > 0 {
        Some(
            super::alerts::run_load(&server, load_runs, load_fails, window.start, measured_secs)
                .await?,
        )
    } else {
        None
    };
    // Counters are read half a second before each whole second, between the bursts of
    // aligned jobs; any such one-second interval holds exactly one fire of every job.
    let half = TimeDelta::milliseconds(500);
    sleep_until(window.start - half).await;
    let before = server.metrics().await?;
    let cpu = CpuMeter::start();
    let mut timeline = Vec::new();
    for second in 0..window.whole_secs() {
        sleep_until(window.start + TimeDelta::seconds(i64::from(second)) + half).await;
        let snapshot = server.metrics().await?;
        timeline.push(TimelinePoint::between(&before, &snapshot));
    }
    let after = server.metrics().await?;
    let cores_used = cpu.and_then(|meter| meter.cores_used());
    let rss_end_kib = rss_kib();
    eprintln!(
        "lateness n={n_jobs} {}: window {} to {} measured; collecting",
        phase.as_str(),
        window.start.format("%H:%M:%S"),
        window.end.format("%H:%M:%S")
    );

    if let Some(load) = load {
        let started = load.await.context("the failing runs' client")??;
        eprintln!("lateness: {started} load runs started during the window");
    }
    tokio::time::sleep(GRACE).await;
    let collect_began = Instant::now();
    let newest = newest_run_id(&client).await?.unwrap_or(0);
    let listed = list_window_runs(&client, &window, newest, LIST_BUDGET).await?;
    let ids: Vec<i64> = listed.runs.iter().map(|run| run.id).collect();
    let sample_size = usize::try_from(args.lateness_sample.get()).unwrap_or(usize::MAX);
    let full = read_sample(
        &client,
        &ids,
        sample_size,
        args.in_flight.get(),
        READ_BUDGET,
    )
    .await?;
    let ledger = read_ledger(&client, &applied.jobs, args, &window).await?;
    eprintln!(
        "lateness n={n_jobs} {}: read {} runs of {} in the window, {} ledgers in {:.1} s",
        phase.as_str(),
        full.len(),
        listed.runs.len(),
        ledger.len(),
        collect_began.elapsed().as_secs_f64()
    );
    // A scheduler deep in a long pass notices the shutdown only at its end; the
    // scenario does not wait for that beyond STOP_TIMEOUT. The shutdown signal is
    // already sent then, so the server still stops by itself, in the background.
    let stop_began = Instant::now();
    let stopped = match tokio::time::timeout(STOP_TIMEOUT, server.stop()).await {
        Ok(result) => {
            result?;
            true
        }
        Err(_) => {
            eprintln!(
                "lateness n={n_jobs} {}: the server did not stop within {STOP_TIMEOUT:?}; moving on",
                phase.as_str()
            );
            false
        }
    };
    let observed = Observed {
        n_jobs,
        n_applied,
        phase,
        window,
        applied,
        arm,
        before,
        after,
        timeline,
        cores_used,
        rss_baseline_kib,
        rss_end_kib,
        listed,
        full,
        ledger,
        stop: stop_began.elapsed(),
        stopped,
        load_runs: (load_runs > 0).then_some((load_runs, load_fails)),
    };
    Ok(to_rows(&observed))
}

/// The ledger entries in the window of up to `--ledger-jobs` jobs spread evenly.
async fn read_ledger(
    client: &orrery_client::Client,
    jobs: &[u32],
    args: &Args,
    window: &Window,
) -> anyhow::Result<Vec<Vec<Occurrence>>> {
    let max = usize::try_from(args.ledger_jobs.get()).unwrap_or(usize::MAX);
    let client = client.clone();
    let window = *window;
    map_concurrent(
        even_sample(jobs, max),
        args.in_flight.get(),
        LEDGER_BUDGET,
        move |job_idx| {
            let client = client.clone();
            async move {
                let job = job_name(job_idx);
                let entries = client
                    .occurrences(&job, LEDGER_LIMIT)
                    .await
                    .with_context(|| format!("read the ledger of {job}"))?;
                anyhow::Ok(
                    entries
                        .into_iter()
                        .filter(|entry| window.contains(entry.nominal_at))
                        .collect(),
                )
            }
        },
    )
    .await
}
