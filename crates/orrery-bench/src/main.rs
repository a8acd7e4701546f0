//! `orrery-bench`: runs scheduling benchmarks against an Orrery server started in this
//! process and reports a table on stdout and, optionally, JSON.

mod cli;
mod harness;
mod machine;
mod measurement;
mod report;
mod scenarios;
mod specs;
mod stats;
mod timeline;

use anyhow::{Context, ensure};
use clap::Parser;
use cli::{Args, ScenarioName};
use machine::Machine;
use measurement::Measurement;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        !args.selects(ScenarioName::Chain) || args.chain_tasks.get() >= 2,
        "--chain-tasks must be at least 2 so the chain has an edge"
    );
    ensure!(
        !args.selects(ScenarioName::Fanout) || !args.fanout_slots.is_empty(),
        "--fanout-slots needs at least one slot count"
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
    if let Some(kib) = machine::peak_rss_kib() {
        let selected = args.scenario.map_or("all scenarios", ScenarioName::as_str);
        measurements.push(Measurement::single(
            "process",
            &format!("after {selected}"),
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
