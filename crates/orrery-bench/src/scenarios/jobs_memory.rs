//! `jobs-memory`: many jobs with a daily schedule. The server's resident memory per
//! registered job, its idle CPU with them, and how long a restart takes until the
//! scheduler has every job armed again.

use crate::apply::{ApplyPlan, apply_many};
use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::{Measurement, Rows};
use crate::process::{CpuMeter, peak_rss_kib, rss_kib};
use crate::specs;
use crate::stats::{duration_ms, percentile};
use crate::window::now;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use std::num::NonZeroU32;
use std::path::Path;
use std::time::{Duration, Instant};

const SCENARIO: &str = "jobs-memory";
/// Daily at 03:00 in the server's zone (UTC): never due during the scenario.
const DAILY: &str = "0 3 * * *";
/// An every-second job applied just before the restart: its first fire after the
/// restart shows when the new scheduler has read and armed every job, since it fires
/// due jobs only after loading all of them.
const SENTINEL: &str = "sentinel";
const WORKER_SLOTS: NonZeroU32 = NonZeroU32::new(16).expect("16 is not zero");
/// Memory is read this long after the last apply, once the server is quiet.
const SETTLE: Duration = Duration::from_secs(2);
/// CPU is measured over this idle stretch with every job registered.
const IDLE: Duration = Duration::from_secs(5);
const ARM_TIMEOUT: Duration = Duration::from_secs(60);
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

fn job_name(job_idx: u32) -> String {
    format!("daily-{job_idx:06}")
}

/// The spec of daily job `job_idx`.
pub(crate) fn spec_of(job_idx: u32) -> String {
    specs::cron(&job_name(job_idx), DAILY)
}

/// Registers `--memory-jobs` daily jobs (or as many as `--apply-budget-secs` allows),
/// then restarts the server on them.
pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let n_jobs = args.memory_jobs.get();
    let server = BenchServer::start(WORKER_SLOTS, args.run_wait()).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_baseline = rss_kib().context("read VmRSS")?;

    let plan = ApplyPlan {
        n_jobs,
        in_flight: args.in_flight.get(),
        budget: Duration::from_secs(u64::from(args.apply_budget_secs.get())),
    };
    let applied = apply_many(server.client(), &plan, spec_of).await?;
    let n_applied = applied.n_applied;
    let Some(last_job) = applied.last_job().map(job_name) else {
        bail!("no job was applied within {:?}", plan.budget);
    };
    eprintln!(
        "{SCENARIO}: applied {n_applied} jobs in {:.1} s",
        applied.elapsed.as_secs_f64()
    );
    let arm = server.wait_until_armed(&last_job, ARM_TIMEOUT).await?;
    if !arm.armed {
        bail!("the scheduler did not arm {last_job} within {ARM_TIMEOUT:?}");
    }
    tokio::time::sleep(SETTLE).await;
    let rss_registered = rss_kib().context("read VmRSS")?;
    let peak_registered = peak_rss_kib().context("read VmHWM")?;
    let idle_cpu = CpuMeter::start();
    tokio::time::sleep(IDLE).await;
    let idle_cores = idle_cpu.and_then(|meter| meter.cores_used());
    let rss_idle = rss_kib().context("read VmRSS")?;
    let database_bytes = directory_bytes(server.data_dir());

    server
        .apply(&specs::every_second(SENTINEL, 0))
        .await
        .context("apply the sentinel job")?;
    if !server.wait_until_armed(SENTINEL, ARM_TIMEOUT).await?.armed {
        bail!("the scheduler did not arm the sentinel within {ARM_TIMEOUT:?}");
    }
    let restart_wall = now();
    let restarted = server.restart().await?;
    let server = restarted.server;
    wait_for(RESTART_TIMEOUT, "/readyz", || server.is_ready()).await?;
    let ready = restarted.began.elapsed();
    wait_for(RESTART_TIMEOUT, "the last job's next fire time", || async {
        server
            .client()
            .get_job(&last_job)
            .await
            .is_ok_and(|job| job.summary.next_fire_at.is_some())
    })
    .await?;
    let listed = restarted.began.elapsed();
    // The old server may still fire the sentinel while it shuts down; only fires
    // recorded once the new one started count.
    let new_server_wall =
        restart_wall + chrono::Duration::from_std(restarted.shutdown).unwrap_or_default();
    let first_fire = first_fire_after(&server, new_server_wall).await?;
    let armed = (first_fire - restart_wall).to_std().unwrap_or_default();
    eprintln!(
        "{SCENARIO}: restarted; the sentinel fired {:.0} ms after the shutdown began",
        duration_ms(armed)
    );
    server.stop().await?;
    let parsed = crate::probe::measure(n_applied).await?;

    let config = if n_applied == n_jobs {
        format!("n={n_jobs} daily")
    } else {
        format!("n={n_applied} (of {n_jobs} asked) daily")
    };
    let mut rows = Rows::new(SCENARIO, config);
    let n = f64::from(n_applied);
    let per_job_bytes = (rss_registered as f64 - rss_baseline as f64) * 1024.0 / n;
    rows.add("apply_rate", applied.jobs_per_second(), "jobs/s");
    rows.add(
        "apply_rate_first_10pct",
        applied.jobs_per_second_between(0.0, 0.1),
        "jobs/s",
    );
    rows.add(
        "apply_rate_last_10pct",
        applied.jobs_per_second_between(0.9, 1.0),
        "jobs/s",
    );
    rows.add("apply_p50", percentile(&applied.latencies_ms, 50.0), "ms");
    rows.add("apply_p99", percentile(&applied.latencies_ms, 99.0), "ms");
    rows.add("apply_busy_retries", applied.retries as f64, "requests");
    rows.add("apply_failed", f64::from(applied.n_failed), "jobs");
    rows.add("apply_total", applied.elapsed.as_secs_f64(), "s");
    rows.add("arm_wait", duration_ms(arm.waited), "ms");
    rows.add("arm_wakes_needed", f64::from(arm.wakes), "count");
    rows.add("rss_baseline", rss_baseline as f64 / 1024.0, "MiB");
    rows.add("rss_registered", rss_registered as f64 / 1024.0, "MiB");
    rows.add("rss_per_job", per_job_bytes, "bytes");
    rows.add(
        "peak_rss_registered",
        peak_registered as f64 / 1024.0,
        "MiB",
    );
    rows.add("rss_after_idle", rss_idle as f64 / 1024.0, "MiB");
    rows.add("parsed_spec_per_job", parsed.spec_bytes, "bytes");
    rows.add("compiled_schedule_per_job", parsed.schedule_bytes, "bytes");
    if let Some(cores) = idle_cores {
        rows.add("idle_cpu", cores, "cores");
    }
    if let Some(bytes) = database_bytes {
        rows.add("database_per_job", bytes as f64 / n, "bytes");
    }
    if n_applied < n_jobs {
        let asked = f64::from(n_jobs);
        rows.add(
            "rss_extrapolated_to_asked",
            (rss_baseline as f64 * 1024.0 + per_job_bytes * asked) / (1024.0 * 1024.0),
            "MiB (extrapolated)",
        );
        rows.add(
            "apply_total_extrapolated_to_asked",
            asked / applied.jobs_per_second(),
            "s (extrapolated)",
        );
    }
    rows.add("restart_shutdown", duration_ms(restarted.shutdown), "ms");
    rows.add("restart_start_server", duration_ms(restarted.start), "ms");
    rows.add("restart_until_ready", duration_ms(ready), "ms");
    rows.add("restart_until_next_fire_listed", duration_ms(listed), "ms");
    rows.add("restart_until_armed", duration_ms(armed), "ms");
    rows.add(
        "restart_armed_after_start_began",
        duration_ms(armed.saturating_sub(restarted.shutdown)),
        "ms",
    );
    Ok(rows.into_vec())
}

/// Polls `ready` every 10 ms until it turns true.
async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut ready: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let began = Instant::now();
    while !ready().await {
        if began.elapsed() > timeout {
            bail!("{what} did not come within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// When the sentinel's first fire recorded after `after` was recorded (its ledger
/// `recorded_at`, on the same clock as `after`).
async fn first_fire_after(
    server: &BenchServer,
    after: DateTime<Utc>,
) -> anyhow::Result<DateTime<Utc>> {
    let began = Instant::now();
    loop {
        let entries = server
            .client()
            .occurrences(SENTINEL, 10)
            .await
            .context("read the sentinel's ledger")?;
        let first = entries
            .iter()
            .map(|entry| entry.recorded_at)
            .filter(|recorded_at| *recorded_at > after)
            .min();
        if let Some(recorded_at) = first {
            return Ok(recorded_at);
        }
        if began.elapsed() > RESTART_TIMEOUT {
            bail!("the sentinel did not fire within {RESTART_TIMEOUT:?} of the restart");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Bytes of the files directly in `dir` (the SQLite database, its WAL and shm).
fn directory_bytes(dir: &Path) -> Option<u64> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
            .sum(),
    )
}
