//! `chain`: a run of noop tasks each depending on the previous one; the hand-over
//! latency from an upstream's end to its downstream's start, edge by edge.

use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::Measurement;
use crate::specs::{self, TaskBody};
use crate::stats::{duration_ms, max, median, percentile};
use crate::timeline::chain_edges;
use std::num::NonZeroU32;

const SCENARIO: &str = "chain";
const JOB: &str = "bench-chain";
/// The chain does not run tasks in parallel, so the slot count does not matter.
const WORKER_SLOTS: NonZeroU32 = NonZeroU32::new(16).expect("16 is not zero");

/// Runs the chain `--repeat` times; edge percentiles pool the edges of every run.
pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let n_tasks = args.chain_tasks.get();
    let config = format!("n={n_tasks}");
    let server = BenchServer::start(WORKER_SLOTS, args.run_wait()).await?;
    server
        .apply(&specs::chain(JOB, n_tasks, TaskBody::Noop))
        .await?;
    let mut wall_ms = Vec::new();
    let mut edges = Vec::new();
    for repetition in 1..=args.repeat.get() {
        let finished = server.run_to_end(JOB).await?;
        let wall = duration_ms(finished.wall);
        eprintln!("{SCENARIO} {config} repetition {repetition}: {wall:.1} ms");
        wall_ms.push(wall);
        edges.extend(chain_edges(&finished.run, n_tasks)?);
    }
    server.stop().await?;

    let total: Vec<f64> = edges.iter().map(|edge| edge.total_ms).collect();
    let release: Vec<f64> = edges.iter().map(|edge| edge.release_ms).collect();
    let dispatch: Vec<f64> = edges.iter().map(|edge| edge.dispatch_ms).collect();
    let per_task_ms: Vec<f64> = wall_ms.iter().map(|ms| ms / f64::from(n_tasks)).collect();
    Ok(vec![
        Measurement::median_of(SCENARIO, &config, "wall", &wall_ms, "ms"),
        Measurement::median_of(SCENARIO, &config, "wall_per_task", &per_task_ms, "ms"),
        Measurement::single(
            SCENARIO,
            &config,
            "edge_p50",
            percentile(&total, 50.0),
            "ms",
        ),
        Measurement::single(
            SCENARIO,
            &config,
            "edge_p99",
            percentile(&total, 99.0),
            "ms",
        ),
        Measurement::single(SCENARIO, &config, "edge_max", max(&total), "ms"),
        Measurement::single(
            SCENARIO,
            &config,
            "edge_release_p50",
            median(&release),
            "ms",
        ),
        Measurement::single(
            SCENARIO,
            &config,
            "edge_dispatch_p50",
            median(&dispatch),
            "ms",
        ),
        Measurement::single(SCENARIO, &config, "edges", edges.len() as f64, "count"),
    ])
}
