//! `shell-overhead`: a chain of shell tasks running `true` against the harness itself
//! spawning the same number of processes one after the other.

use crate::cli::Args;
use crate::direct_spawn::spawn_many;
use crate::harness::BenchServer;
use crate::measurement::Measurement;
use crate::specs::{self, TaskBody};
use crate::stats::{duration_ms, median, percentile};
use crate::timeline::{chain_edges, task_durations_ms};
use std::num::NonZeroU32;

const SCENARIO: &str = "shell-overhead";
const JOB: &str = "bench-shell";
const WORKER_SLOTS: NonZeroU32 = NonZeroU32::new(16).expect("16 is not zero");
/// The chain runs one task at a time, so the direct spawns do too.
const ONE_AT_A_TIME: NonZeroU32 = NonZeroU32::MIN;

/// Per repetition: `/bin/true` spawned directly, `bash -c true` spawned directly (what
/// a shell task runs), then the shell chain on the server.
pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let n_tasks = args.shell_tasks.get();
    let n = f64::from(n_tasks);
    let config = format!("n={n_tasks}");
    let server = BenchServer::start(WORKER_SLOTS, args.run_wait()).await?;
    server
        .apply(&specs::chain(JOB, n_tasks, TaskBody::ShellTrue))
        .await?;
    let mut orrery_ms = Vec::new();
    let mut true_ms = Vec::new();
    let mut bash_ms = Vec::new();
    let mut edge_ms = Vec::new();
    let mut task_ms = Vec::new();
    for repetition in 1..=args.repeat.get() {
        true_ms.push(spawn_many("/bin/true", &[], n_tasks, ONE_AT_A_TIME).await?);
        bash_ms.push(spawn_many("bash", &["-c", "true"], n_tasks, ONE_AT_A_TIME).await?);
        let finished = server.run_to_end(JOB).await?;
        let wall = duration_ms(finished.wall);
        eprintln!("{SCENARIO} {config} repetition {repetition}: {wall:.1} ms");
        orrery_ms.push(wall);
        edge_ms.extend(
            chain_edges(&finished.run, n_tasks)?
                .iter()
                .map(|e| e.total_ms),
        );
        task_ms.extend(task_durations_ms(&finished.run)?);
    }
    server.stop().await?;

    let orrery = median(&orrery_ms);
    let direct_true = median(&true_ms);
    let direct_bash = median(&bash_ms);
    let row = |metric, value, unit| Measurement::single(SCENARIO, &config, metric, value, unit);
    Ok(vec![
        Measurement::median_of(SCENARIO, &config, "orrery_total", &orrery_ms, "ms"),
        row("orrery_per_task", orrery / n, "ms"),
        Measurement::median_of(SCENARIO, &config, "direct_true_total", &true_ms, "ms"),
        row("direct_true_per_task", direct_true / n, "ms"),
        Measurement::median_of(SCENARIO, &config, "direct_bash_total", &bash_ms, "ms"),
        row("direct_bash_per_task", direct_bash / n, "ms"),
        row("ratio_vs_true", orrery / direct_true, "x"),
        row(
            "overhead_per_task_vs_true",
            (orrery - direct_true) / n,
            "ms",
        ),
        row("ratio_vs_bash", orrery / direct_bash, "x"),
        row(
            "overhead_per_task_vs_bash",
            (orrery - direct_bash) / n,
            "ms",
        ),
        row("task_run_p50", percentile(&task_ms, 50.0), "ms"),
        row("edge_p50", percentile(&edge_ms, 50.0), "ms"),
        row("edge_p99", percentile(&edge_ms, 99.0), "ms"),
    ])
}
