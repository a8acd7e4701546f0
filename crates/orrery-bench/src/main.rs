//! `orrery-bench`: runs scheduling benchmarks against an Orrery server started in this
//! process and reports a table on stdout and, optionally, JSON.

mod apply;
mod cli;
mod concurrent;
mod cpu_ticks;
mod direct_spawn;
mod fires;
mod harness;
mod http;
mod machine;
mod measurement;
mod probe;
mod process;
mod prometheus;
mod report;
mod scenarios;
mod specs;
mod stats;
mod timeline;
mod window;
mod worker_processes;

use anyhow::{Context, ensure};
use clap::Parser;
use cli::{Args, ScenarioName};
use machine::Machine;
use measurement::Measurement;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(n_jobs) = args.probe_parsed_jobs {
        return probe::run_in_child(n_jobs, scenarios::jobs_memory::spec_of);
    }
    ensure!(
        !args.selects(ScenarioName::Chain) || args.chain_tasks.get() >= 2,
        "--chain-tasks must be at least 2 so the chain has an edge"
    );
    ensure!(
        !args.selects(ScenarioName::Fanout) || !args.fanout_slots.is_empty(),
        "--fanout-slots needs at least one slot count"
    );
    ensure!(
        !args.selects(ScenarioName::Lateness)
            || (!args.lateness_jobs.is_empty() && !args.lateness_phases.is_empty()),
        "--lateness-jobs and --lateness-phases need at least one value each"
    );
    ensure!(
        !args.selects(ScenarioName::RemoteWorkers) || !args.remote_workers.is_empty(),
        "--remote-workers needs at least one worker count"
    );
    ensure!(
        args.lateness_warmup_secs < args.lateness_secs.get(),
        "--lateness-warmup-secs must be shorter than --lateness-secs"
    );
    let machine = Machine::probe();
    let mut measurements = Vec::new();
    if args.selects(ScenarioName::Fanout) {
        measurements.extend(scenarios::fanout::run(&args).await.context("fanout")?);
    }
    if args.selects(ScenarioName::Chain) {
        measurements.extend(scenarios::chain::run(&args).await.context("chain")?);
    }
    if args.selects(ScenarioName::ShellOverhead) {
        let rows = scenarios::shell_overhead::run(&args).await;
        measurements.extend(rows.context("shell-overhead")?);
    }
    if args.selects(ScenarioName::Lateness) {
        measurements.extend(scenarios::lateness::run(&args).await.context("lateness")?);
    }
    if args.selects(ScenarioName::JobsMemory) {
        let rows = scenarios::jobs_memory::run(&args).await;
        measurements.extend(rows.context("jobs-memory")?);
    }
    if args.selects(ScenarioName::Alerts) {
        let rows = scenarios::alerts::run(&args).await;
        measurements.extend(rows.context("alerts")?);
    }
    if args.selects(ScenarioName::RunStarts) {
        let rows = scenarios::run_starts::run(&args).await;
        measurements.extend(rows.context("run-starts")?);
    }
    if args.selects(ScenarioName::Access) {
        measurements.extend(scenarios::access::run(&args).await.context("access")?);
    }
    if args.selects(ScenarioName::LogMasking) {
        let rows = scenarios::log_masking::run(&args).await;
        measurements.extend(rows.context("log-masking")?);
    }
    if args.selects(ScenarioName::RemoteWorkers) {
        let rows = scenarios::remote_workers::run(&args).await;
        measurements.extend(rows.context("remote-workers")?);
    }
    if let Some(kib) = process::peak_rss_kib() {
        measurements.push(Measurement::single(
            "process",
            &format!("after {}", args.selected_names()),
            "peak_rss",
            kib as f64 / 1024.0,
            "MiB",
        ));
    }
    report::print_table(&machine, &measurements);
    if let Some(path) = &args.json {
        report::write_json(path, &machine, &args, &measurements)?;
    }
    Ok(())
}
