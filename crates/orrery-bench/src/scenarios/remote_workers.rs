//! `remote-workers`: a server without its embedded worker, and real `orrery worker`
//! processes on loopback. Noop tasks dispatched through 1, 2 and 4 workers (throughput,
//! queued → started latency, CPU per task), then shell and command tasks on one worker
//! against direct spawns (in `remote_shell`).

use super::remote_cpu::{CpuPerTask, CpuReading};
use crate::cli::Args;
use crate::harness::{BenchServer, FinishedRun};
use crate::measurement::{Measurement, Rows};
use crate::specs::{self, TaskBody};
use crate::stats::{duration_ms, median, percentile};
use crate::timeline::{chain_edges, queued_to_started_ms, run_span_ms, workers_used};
use crate::worker_processes::{Cgroups, WorkerProcesses, WorkerSet, orrery_binary};
use std::num::NonZeroU32;
use std::path::Path;

pub(super) const SCENARIO: &str = "remote-workers";
const FANOUT_JOB: &str = "bench-remote-fanout";
const CHAIN_JOB: &str = "bench-remote-chain";

/// The dispatch jobs for each count in `--remote-workers`, then the process comparison.
pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let binary = orrery_binary()?;
    let ticks_per_second = crate::cpu_ticks::ticks_per_second();
    let mut measurements = Vec::new();
    for &n_workers in &args.remote_workers {
        measurements.extend(dispatch(args, &binary, n_workers, ticks_per_second).await?);
    }
    measurements.extend(super::remote_shell::run(args, &binary, ticks_per_second).await?);
    Ok(measurements)
}

/// On a fresh server with `n_workers` workers of `--remote-slots` slots: the fan-out
/// of `--remote-tasks` noop tasks `--repeat` times, then as often a chain of
/// `--chain-tasks` noop tasks, whose tasks find a free slot when they are queued.
async fn dispatch(
    args: &Args,
    binary: &Path,
    n_workers: NonZeroU32,
    ticks_per_second: u64,
) -> anyhow::Result<Vec<Measurement>> {
    let n_tasks = args.remote_tasks.get();
    let n_chain_tasks = args.chain_tasks.get();
    let config = format!(
        "n={n_tasks} workers={n_workers} slots={}",
        args.remote_slots
    );
    let server = BenchServer::start_for_remote_workers(args.run_wait()).await?;
    server
        .apply(&specs::fanout(FANOUT_JOB, n_tasks, TaskBody::Noop))
        .await?;
    server
        .apply(&specs::chain(CHAIN_JOB, n_chain_tasks, TaskBody::Noop))
        .await?;
    let set = WorkerSet {
        n_workers,
        slots: args.remote_slots,
        // Noop tasks start no process, so cgroups do not matter.
        cgroups: Cgroups::Auto,
    };
    let workers = WorkerProcesses::start(&server, binary, set).await?;
    let meter = RunMeter {
        server: &server,
        workers: &workers,
        ticks_per_second,
    };
    let mut fanout_runs = Vec::new();
    let mut chain_runs = Vec::new();
    let measured = async {
        for repetition in 1..=args.repeat.get() {
            let measured = meter.run(FANOUT_JOB, n_tasks).await?;
            let wall = duration_ms(measured.finished.wall);
            eprintln!("{SCENARIO} {config} repetition {repetition}: {wall:.1} ms");
            fanout_runs.push(measured);
        }
        for _ in 0..args.repeat.get() {
            chain_runs.push(meter.run(CHAIN_JOB, n_chain_tasks).await?.finished);
        }
        anyhow::Ok(())
    }
    .await;
    workers.stop().await;
    server.stop().await?;
    measured?;

    let mut wall_ms = Vec::new();
    let mut span_ms = Vec::new();
    let mut tasks_per_s = Vec::new();
    let mut waits_ms = Vec::new();
    let mut n_workers_used = Vec::new();
    for MeasuredRun { finished, .. } in &fanout_runs {
        let span = run_span_ms(&finished.run)?;
        wall_ms.push(duration_ms(finished.wall));
        span_ms.push(span);
        tasks_per_s.push(f64::from(n_tasks) / (span / 1000.0));
        waits_ms.extend(queued_to_started_ms(&finished.run)?);
        n_workers_used.push(workers_used(&finished.run) as f64);
    }
    let mut chain_waits_ms = Vec::new();
    for finished in &chain_runs {
        let edges = chain_edges(&finished.run, n_chain_tasks)?;
        chain_waits_ms.extend(edges.iter().map(|edge| edge.dispatch_ms));
    }
    let cpu: Vec<CpuPerTask> = fanout_runs.iter().filter_map(|run| run.cpu).collect();
    let mut rows = vec![
        Measurement::median_of(SCENARIO, &config, "wall", &wall_ms, "ms"),
        Measurement::median_of(SCENARIO, &config, "server_span", &span_ms, "ms"),
        Measurement::median_of(SCENARIO, &config, "throughput", &tasks_per_s, "tasks/s"),
    ];
    let mut derived = Rows::new(SCENARIO, config);
    derived.add("queued_to_started_p50", percentile(&waits_ms, 50.0), "ms");
    derived.add("queued_to_started_p99", percentile(&waits_ms, 99.0), "ms");
    derived.add("workers_used", median(&n_workers_used), "count");
    derived.add(
        "server_cpu_per_task",
        median_cpu(&cpu, |c| c.server_ms),
        "ms",
    );
    derived.add(
        "worker_cpu_per_task",
        median_cpu(&cpu, |c| c.worker_ms),
        "ms",
    );
    let chain = |percent| percentile(&chain_waits_ms, percent);
    derived.add("chain_queued_to_started_p50", chain(50.0), "ms");
    derived.add("chain_queued_to_started_p99", chain(99.0), "ms");
    rows.extend(derived.into_vec());
    Ok(rows)
}

/// Runs jobs to their end on a server with remote workers, reading CPU around each run.
pub(super) struct RunMeter<'a> {
    pub(super) server: &'a BenchServer,
    pub(super) workers: &'a WorkerProcesses,
    pub(super) ticks_per_second: u64,
}

/// A run that succeeded, and its CPU per task when it could be read.
pub(super) struct MeasuredRun {
    pub(super) finished: FinishedRun,
    pub(super) cpu: Option<CpuPerTask>,
}

impl RunMeter<'_> {
    /// Runs `job` (of `n_tasks` tasks) to its end.
    pub(super) async fn run(&self, job: &str, n_tasks: u32) -> anyhow::Result<MeasuredRun> {
        let before = CpuReading::now(self.workers);
        let finished = self.server.run_to_end(job).await?;
        let after = CpuReading::now(self.workers);
        let cpu = before
            .zip(after)
            .map(|(before, after)| after.per_task_since(before, n_tasks, self.ticks_per_second));
        Ok(MeasuredRun { finished, cpu })
    }
}

/// The median of one part of the CPU per task over the runs (NaN without readings).
pub(super) fn median_cpu(cpu: &[CpuPerTask], part: impl Fn(&CpuPerTask) -> f64) -> f64 {
    median(&cpu.iter().map(part).collect::<Vec<_>>())
}
