//! The scheduler's per-job state measured in isolation, in a child process of the
//! harness: the resident memory that N parsed job specs and their compiled schedules
//! take, which is what the driver keeps in memory for every scheduled job. A fresh
//! process is needed because the harness's own heap, already grown and freed by the
//! server, would hide the growth.
#![allow(clippy::print_stdout)] // the child reports its figures on stdout

use crate::process::rss_kib;
use anyhow::{Context, bail};
use orrery_core::schedule::CompiledSchedule;
use orrery_core::spec::{JobSpec, SpecFormat, parse_job_spec};

/// The hidden flag that makes the harness run the probe instead of scenarios.
pub(crate) const FLAG: &str = "--probe-parsed-jobs";

/// Resident bytes per job for the parsed specs and for their compiled schedules.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ParsedState {
    pub(crate) spec_bytes: f64,
    pub(crate) schedule_bytes: f64,
}

/// In the child: parses `n_jobs` generated daily job specs, keeps them, compiles their
/// schedules, keeps those too, and prints the growth per job of each step.
pub(crate) fn run_in_child(n_jobs: u32, spec_of: impl Fn(u32) -> String) -> anyhow::Result<()> {
    let default_zone = orrery::ServerConfig::new(".").default_timezone;
    let before = rss_kib().context("read VmRSS")?;
    let specs: Vec<JobSpec> = (0..n_jobs)
        .map(|job_idx| {
            parse_job_spec(&spec_of(job_idx), SpecFormat::Yaml)
                .map_err(|errors| anyhow::anyhow!("generated spec {job_idx}: {errors}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let parsed = rss_kib().context("read VmRSS")?;
    let schedules: Vec<CompiledSchedule> = specs
        .iter()
        .filter_map(|spec| spec.schedule.as_ref())
        .map(|schedule| orrery_core::schedule::compile(schedule, default_zone))
        .collect::<Result<_, _>>()
        .context("compile a generated schedule")?;
    let compiled = rss_kib().context("read VmRSS")?;
    let n = f64::from(n_jobs.max(1));
    println!(
        "{} {} {}",
        (parsed as f64 - before as f64) * 1024.0 / n,
        (compiled as f64 - parsed as f64) * 1024.0 / n,
        schedules.len() + specs.len()
    );
    Ok(())
}

/// In the harness: runs the probe in a child process and reads its figures.
pub(crate) async fn measure(n_jobs: u32) -> anyhow::Result<ParsedState> {
    let exe = std::env::current_exe().context("find the harness executable")?;
    let output = tokio::process::Command::new(exe)
        .arg(FLAG)
        .arg(n_jobs.to_string())
        .output()
        .await
        .context("run the probe process")?;
    if !output.status.success() {
        bail!(
            "the probe failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8(output.stdout).context("read the probe's output")?;
    let mut figures = text.split_whitespace().map(str::parse::<f64>);
    match (figures.next(), figures.next()) {
        (Some(Ok(spec_bytes)), Some(Ok(schedule_bytes))) => Ok(ParsedState {
            spec_bytes,
            schedule_bytes,
        }),
        _ => bail!("the probe printed {text:?}"),
    }
}
