//! `fanout`: one run of many independent noop tasks; how fast the scheduler and the
//! embedded worker drain them for a given number of worker slots.

use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::Measurement;
use crate::specs::{self, TaskBody};
use crate::stats::duration_ms;
use crate::timeline::run_span_ms;

const SCENARIO: &str = "fanout";
const JOB: &str = "bench-fanout";

/// Runs the fan-out job `--repeat` times for each slot count in `--fanout-slots`.
pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let n_tasks = args.fanout_tasks.get();
    let mut measurements = Vec::new();
    for &worker_slots in &args.fanout_slots {
        let config = format!("n={n_tasks} slots={worker_slots}");
        let server = BenchServer::start(worker_slots, args.run_wait()).await?;
        server
            .apply(&specs::fanout(JOB, n_tasks, TaskBody::Noop))
            .await?;
        let mut wall_ms = Vec::new();
        let mut span_ms = Vec::new();
        let mut tasks_per_s = Vec::new();
        for repetition in 1..=args.repeat.get() {
            let finished = server.run_to_end(JOB).await?;
            let wall = duration_ms(finished.wall);
            eprintln!("{SCENARIO} {config} repetition {repetition}: {wall:.1} ms");
            wall_ms.push(wall);
            span_ms.push(run_span_ms(&finished.run)?);
            tasks_per_s.push(f64::from(n_tasks) / finished.wall.as_secs_f64());
        }
        server.stop().await?;
        measurements.extend([
            Measurement::median_of(SCENARIO, &config, "wall", &wall_ms, "ms"),
            Measurement::median_of(SCENARIO, &config, "throughput", &tasks_per_s, "tasks/s"),
            Measurement::median_of(SCENARIO, &config, "server_span", &span_ms, "ms"),
        ]);
    }
    Ok(measurements)
}
