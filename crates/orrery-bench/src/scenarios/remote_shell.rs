//! The process half of `remote-workers`: independent tasks running `true` on one remote
//! worker with P slots, against the harness spawning the same programs P at a time;
//! with and without cgroups. A `shell` task runs `bash -c true`, compared with direct
//! spawns of `/bin/true` and of `bash -c true`; a `command` task runs `/bin/true` with
//! no shell, compared with direct spawns of `/bin/true` (the like-for-like comparison).

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

const SHELL_JOB: &str = "bench-remote-shell";
const COMMAND_JOB: &str = "bench-remote-command";
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
/// the job of shell tasks and the job of command tasks on one worker with P slots.
async fn compare(
    args: &Args,
    binary: &Path,
    cgroups: Cgroups,
    ticks_per_second: u64,
) -> anyhow::Result<Vec<Measurement>> {
    let n_tasks = args.remote_shell_tasks.get();
    let settings = format!(
        "n={n_tasks} parallelism={} cgroups={}",
        args.remote_parallelism,
        cgroups.as_str()
    );
    let server = BenchServer::start_for_remote_workers(args.run_wait()).await?;
    server
        .apply(&specs::fanout(SHELL_JOB, n_tasks, TaskBody::ShellTrue))
        .await?;
    server
        .apply(&specs::fanout(COMMAND_JOB, n_tasks, TaskBody::CommandTrue))
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
    let samples = measure(&meter, args, &settings).await;
    workers.stop().await;
    server.stop().await?;
    Ok(samples?.into_rows(&settings, n_tasks, ticks_per_second))
}

/// What the repetitions measured: one value per repetition, or pooled over tasks.
#[derive(Default)]
struct Samples {
    true_ms: Vec<f64>,
    bash_ms: Vec<f64>,
    /// Ticks of the harness and the processes it waited for, over the bash spawns.
    bash_ticks: Vec<u64>,
    shell: JobSamples,
    command: JobSamples,
}

/// The runs of one job through the worker.
#[derive(Default)]
struct JobSamples {
    orrery_ms: Vec<f64>,
    cpu: Vec<CpuPerTask>,
    task_run_ms: Vec<f64>,
    queued_to_started_ms: Vec<f64>,
}

async fn measure(meter: &RunMeter<'_>, args: &Args, settings: &str) -> anyhow::Result<Samples> {
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
        for (job, kind, job_samples) in [
            (SHELL_JOB, "shell", &mut samples.shell),
            (COMMAND_JOB, "command", &mut samples.command),
        ] {
            let wall = job_samples.record(meter, job, n_tasks).await?;
            eprintln!(
                "{SCENARIO} {kind} {settings} repetition {repetition}: {wall:.1} ms \
                 (direct /bin/true {direct_true:.1} ms, bash -c true {direct_bash:.1} ms)"
            );
        }
    }
    Ok(samples)
}

impl JobSamples {
    /// Runs `job` to its end and keeps what it measured; its wall time in milliseconds.
    async fn record(
        &mut self,
        meter: &RunMeter<'_>,
        job: &str,
        n_tasks: u32,
    ) -> anyhow::Result<f64> {
        let measured = meter.run(job, n_tasks).await?;
        let wall = duration_ms(measured.finished.wall);
        self.orrery_ms.push(wall);
        self.cpu.extend(measured.cpu);
        let run = &measured.finished.run;
        self.task_run_ms.extend(task_durations_ms(run)?);
        self.queued_to_started_ms.extend(queued_to_started_ms(run)?);
        Ok(wall)
    }

    /// The rows of the job's task timings and CPU per task.
    fn add_timing_rows(&self, rows: &mut Rows) {
        rows.add("task_run_p50", percentile(&self.task_run_ms, 50.0), "ms");
        let waits = &self.queued_to_started_ms;
        rows.add("queued_to_started_p50", percentile(waits, 50.0), "ms");
        rows.add(
            "server_cpu_per_task",
            median_cpu(&self.cpu, |c| c.server_ms),
            "ms",
        );
        rows.add(
            "worker_cpu_per_task",
            median_cpu(&self.cpu, |c| c.worker_ms),
            "ms",
        );
        rows.add(
            "task_cpu_per_task",
            median_cpu(&self.cpu, |c| c.task_ms),
            "ms",
        );
    }
}

impl Samples {
    fn into_rows(self, settings: &str, n_tasks: u32, ticks_per_second: u64) -> Vec<Measurement> {
        let n = f64::from(n_tasks);
        let direct_true = median(&self.true_ms);
        let direct_bash = median(&self.bash_ms);
        let bash_cpu_ms: Vec<f64> = (self.bash_ticks.iter())
            .map(|&ticks| ticks as f64 * 1000.0 / ticks_per_second as f64 / n)
            .collect();
        let mut rows = Vec::new();

        let shell_config = format!("shell {settings}");
        let shell = &self.shell;
        let orrery_shell = median(&shell.orrery_ms);
        rows.push(Measurement::median_of(
            SCENARIO,
            &shell_config,
            "orrery_total",
            &shell.orrery_ms,
            "ms",
        ));
        rows.push(Measurement::median_of(
            SCENARIO,
            &shell_config,
            "direct_true_total",
            &self.true_ms,
            "ms",
        ));
        rows.push(Measurement::median_of(
            SCENARIO,
            &shell_config,
            "direct_bash_total",
            &self.bash_ms,
            "ms",
        ));
        let mut derived = Rows::new(SCENARIO, shell_config);
        derived.add("orrery_per_task", orrery_shell / n, "ms");
        derived.add("direct_true_per_task", direct_true / n, "ms");
        derived.add("direct_bash_per_task", direct_bash / n, "ms");
        derived.add("ratio_vs_true", orrery_shell / direct_true, "x");
        derived.add("ratio_vs_bash", orrery_shell / direct_bash, "x");
        shell.add_timing_rows(&mut derived);
        derived.add("direct_bash_cpu_per_task", median(&bash_cpu_ms), "ms");
        rows.extend(derived.into_vec());

        let command_config = format!("command {settings}");
        let command = &self.command;
        let orrery_command = median(&command.orrery_ms);
        rows.push(Measurement::median_of(
            SCENARIO,
            &command_config,
            "orrery_total",
            &command.orrery_ms,
            "ms",
        ));
        rows.push(Measurement::median_of(
            SCENARIO,
            &command_config,
            "direct_true_total",
            &self.true_ms,
            "ms",
        ));
        let mut derived = Rows::new(SCENARIO, command_config);
        derived.add("orrery_per_task", orrery_command / n, "ms");
        derived.add("direct_true_per_task", direct_true / n, "ms");
        derived.add("ratio_vs_true", orrery_command / direct_true, "x");
        command.add_timing_rows(&mut derived);
        rows.extend(derived.into_vec());
        rows
    }
}
