//! The shell half of `remote-workers`: independent shell tasks running `true` on one
//! remote worker with P slots, against the harness spawning `/bin/true` (and
//! `bash -c true`, what a shell task runs) P at a time; with and without cgroups.

use super::remote_cpu::CpuPerTask;
use super::remote_workers::{RunMeter, SCENARIO, median_cpu};
use crate::cli::Args;
use crate::cpu_ticks::CpuTicks;
use crate::direct_spawn::spawn_many;
use crate::harness::BenchServer;
use crate::measurement::{Measurement, Rows};
use crate::specs::{self, TaskBody};
use crate::stats::{duration_ms, median, percentile};
use crate::timeline::{queued_to_started_ms, task_durations_ms};
use crate::worker_processes::{Cgroups, WorkerProcesses, WorkerSet};
use std::num::NonZeroU32;
use std::path::Path;

const JOB: &str = "bench-remote-shell";
const ONE_WORKER: NonZeroU32 = NonZeroU32::MIN;

/// The comparison with the workers' default (cgroups where the host allows them),
/// then with `--no-cgroups`, each on a fresh server.
pub(super) async fn run(
    args: &Args,
    binary: &Path,
    ticks_per_second: u64,
) -> anyhow::Result<Vec<Measurement>> {
    let mut measurements = Vec::new();
    for cgroups in [Cgroups::Auto, Cgroups::Off] {
        measurements.extend(compare(args, binary, cgroups, ticks_per_second).await?);
    }
    Ok(measurements)
}

/// Per repetition: `/bin/true` and `bash -c true` spawned directly, P at a time, then
/// the job of shell tasks on one worker with P slots.
async fn compare(
    args: &Args,
    binary: &Path,
    cgroups: Cgroups,
    ticks_per_second: u64,
) -> anyhow::Result<Vec<Measurement>> {
    let n_tasks = args.remote_shell_tasks.get();
    let config = format!(
        "shell n={n_tasks} parallelism={} cgroups={}",
        args.remote_parallelism,
        cgroups.as_str()
    );
    let server = BenchServer::start_for_remote_workers(args.run_wait()).await?;
    server
        .apply(&specs::fanout(JOB, n_tasks, TaskBody::ShellTrue))
        .await?;
    let set = WorkerSet {
        n_workers: ONE_WORKER,
        slots: args.remote_parallelism,
        cgroups,
    };
    let workers = WorkerProcesses::start(&server, binary, set).await?;
    let meter = RunMeter {
        server: &server,
        workers: &workers,
        ticks_per_second,
    };
    let samples = measure(&meter, args, &config).await;
    workers.stop().await;
    server.stop().await?;
    Ok(samples?.into_rows(config, n_tasks, ticks_per_second))
}

/// What the repetitions measured: one value per repetition, or pooled over tasks.
#[derive(Default)]
struct Samples {
    orrery_ms: Vec<f64>,
    true_ms: Vec<f64>,
    bash_ms: Vec<f64>,
    /// Ticks of the harness and the processes it waited for, over the bash spawns.
    bash_ticks: Vec<u64>,
    cpu: Vec<CpuPerTask>,
    task_run_ms: Vec<f64>,
    queued_to_started_ms: Vec<f64>,
}

async fn measure(meter: &RunMeter<'_>, args: &Args, config: &str) -> anyhow::Result<Samples> {
    let n_tasks = args.remote_shell_tasks.get();
    let parallelism = args.remote_parallelism;
    let mut samples = Samples::default();
    for repetition in 1..=args.repeat.get() {
        let direct_true = spawn_many("/bin/true", &[], n_tasks, parallelism).await?;
        samples.true_ms.push(direct_true);
        let before = CpuTicks::of_self();
        let direct_bash = spawn_many("bash", &["-c", "true"], n_tasks, parallelism).await?;
        samples.bash_ms.push(direct_bash);
        if let Some((before, after)) = before.zip(CpuTicks::of_self()) {
            let used = after.since(before);
            samples.bash_ticks.push(used.own + used.children);
        }
        let measured = meter.run(JOB, n_tasks).await?;
        let wall = duration_ms(measured.finished.wall);
        eprintln!(
            "{SCENARIO} {config} repetition {repetition}: {wall:.1} ms \
             (direct /bin/true {direct_true:.1} ms)"
        );
        samples.orrery_ms.push(wall);
        samples.cpu.extend(measured.cpu);
        let run = &measured.finished.run;
        samples.task_run_ms.extend(task_durations_ms(run)?);
        samples
            .queued_to_started_ms
            .extend(queued_to_started_ms(run)?);
    }
    Ok(samples)
}

impl Samples {
    fn into_rows(self, config: String, n_tasks: u32, ticks_per_second: u64) -> Vec<Measurement> {
        let n = f64::from(n_tasks);
        let orrery = median(&self.orrery_ms);
        let direct_true = median(&self.true_ms);
        let direct_bash = median(&self.bash_ms);
        let bash_cpu_ms: Vec<f64> = (self.bash_ticks.iter())
            .map(|&ticks| ticks as f64 * 1000.0 / ticks_per_second as f64 / n)
            .collect();
        let mut rows = vec![
            Measurement::median_of(SCENARIO, &config, "orrery_total", &self.orrery_ms, "ms"),
            Measurement::median_of(SCENARIO, &config, "direct_true_total", &self.true_ms, "ms"),
            Measurement::median_of(SCENARIO, &config, "direct_bash_total", &self.bash_ms, "ms"),
        ];
        let mut derived = Rows::new(SCENARIO, config);
        derived.add("orrery_per_task", orrery / n, "ms");
        derived.add("direct_true_per_task", direct_true / n, "ms");
        derived.add("direct_bash_per_task", direct_bash / n, "ms");
        derived.add("ratio_vs_true", orrery / direct_true, "x");
        derived.add("ratio_vs_bash", orrery / direct_bash, "x");
        derived.add("task_run_p50", percentile(&self.task_run_ms, 50.0), "ms");
        let waits = &self.queued_to_started_ms;
        derived.add("queued_to_started_p50", percentile(waits, 50.0), "ms");
        derived.add(
            "server_cpu_per_task",
            median_cpu(&self.cpu, |c| c.server_ms),
            "ms",
        );
        derived.add(
            "worker_cpu_per_task",
            median_cpu(&self.cpu, |c| c.worker_ms),
            "ms",
        );
        derived.add(
            "task_cpu_per_task",
            median_cpu(&self.cpu, |c| c.task_ms),
            "ms",
        );
        derived.add("direct_bash_cpu_per_task", median(&bash_cpu_ms), "ms");
        rows.extend(derived.into_vec());
        rows
    }
}
