//! The harness's output: the table on stdout and the JSON results file.
#![allow(clippy::print_stdout)]

use crate::cli::Args;
use crate::machine::Machine;
use crate::measurement::Measurement;
use anyhow::Context;
use serde::Serialize;
use std::path::Path;

/// Prints the machine line and one row per measurement.
pub(crate) fn print_table(machine: &Machine, measurements: &[Measurement]) {
    println!(
        "orrery-bench: {} cores, {}, {} build{}",
        machine.cores,
        machine.arch,
        machine.profile,
        machine
            .date
            .as_deref()
            .map(|date| format!(", {date}"))
            .unwrap_or_default()
    );
    let header = ["scenario", "config", "metric", "value", "unit"];
    let rows: Vec<[String; 5]> = measurements
        .iter()
        .map(|m| {
            [
                m.scenario.to_owned(),
                m.config.clone(),
                m.metric.to_owned(),
                format_value(m.value),
                m.unit.to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    // The unit column is last and left unpadded, so rows carry no trailing spaces.
    let [w_scenario, w_config, w_metric, w_value, _] = widths;
    println!(
        "{:<w_scenario$}  {:<w_config$}  {:<w_metric$}  {:>w_value$}  {}",
        header[0], header[1], header[2], header[3], header[4]
    );
    println!(
        "{}",
        "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
    );
    for [scenario, config, metric, value, unit] in &rows {
        println!(
            "{scenario:<w_scenario$}  {config:<w_config$}  {metric:<w_metric$}  \
             {value:>w_value$}  {unit}"
        );
    }
}

/// Whole numbers as such; otherwise two decimals below 100, one below 10 000, none
/// above: enough for noisy timings.
fn format_value(value: f64) -> String {
    if value.fract() == 0.0 {
        return format!("{value:.0}");
    }
    match value.abs() {
        v if v < 100.0 => format!("{value:.2}"),
        v if v < 10_000.0 => format!("{value:.1}"),
        _ => format!("{value:.0}"),
    }
}

/// The JSON results file.
#[derive(Serialize)]
struct JsonReport<'a> {
    machine: &'a Machine,
    settings: Settings,
    results: &'a [Measurement],
}

/// The command-line sizes the figures were measured with.
#[derive(Serialize)]
struct Settings {
    scenarios: String,
    fanout_tasks: u32,
    fanout_slots: Vec<u32>,
    chain_tasks: u32,
    shell_tasks: u32,
    repeat: u32,
    poll_ms: u32,
    lateness_jobs: Vec<u32>,
    lateness_phases: Vec<&'static str>,
    lateness_secs: u32,
    lateness_warmup_secs: u32,
    lateness_slots: u32,
    lateness_sample: u32,
    ledger_jobs: u32,
    memory_jobs: u32,
    in_flight: u32,
    apply_budget_secs: u32,
    remote_tasks: u32,
    remote_workers: Vec<u32>,
    remote_slots: u32,
    remote_shell_tasks: u32,
    remote_parallelism: u32,
}

/// Writes the machine, the settings and every measurement to `path` as JSON.
pub(crate) fn write_json(
    path: &Path,
    machine: &Machine,
    args: &Args,
    measurements: &[Measurement],
) -> anyhow::Result<()> {
    let report = JsonReport {
        machine,
        settings: Settings {
            scenarios: args.selected_names(),
            fanout_tasks: args.fanout_tasks.get(),
            fanout_slots: args.fanout_slots.iter().map(|s| s.get()).collect(),
            chain_tasks: args.chain_tasks.get(),
            shell_tasks: args.shell_tasks.get(),
            repeat: args.repeat.get(),
            poll_ms: args.poll_ms.get(),
            lateness_jobs: args.lateness_jobs.iter().map(|n| n.get()).collect(),
            lateness_phases: args.lateness_phases.iter().map(|p| p.as_str()).collect(),
            lateness_secs: args.lateness_secs.get(),
            lateness_warmup_secs: args.lateness_warmup_secs,
            lateness_slots: args.lateness_slots.get(),
            lateness_sample: args.lateness_sample.get(),
            ledger_jobs: args.ledger_jobs.get(),
            memory_jobs: args.memory_jobs.get(),
            in_flight: args.in_flight.get(),
            apply_budget_secs: args.apply_budget_secs.get(),
            remote_tasks: args.remote_tasks.get(),
            remote_workers: args.remote_workers.iter().map(|n| n.get()).collect(),
            remote_slots: args.remote_slots.get(),
            remote_shell_tasks: args.remote_shell_tasks.get(),
            remote_parallelism: args.remote_parallelism.get(),
        },
        results: measurements,
    };
    let mut json = serde_json::to_string_pretty(&report).context("serialize the results")?;
    json.push('\n');
    std::fs::write(path, json).with_context(|| format!("write {}", path.display()))
}
