//! `orrery backfill` and `orrery cron next`.

use super::args::{BackfillArgs, CronNextArgs, GlobalArgs, OutputFormat};
use super::{connect, output};
use anyhow::Context;
use orrery_client::types::BackfillRequest;
use orrery_core::clock::{Clock, SystemClock};
use orrery_core::schedule::{ScheduleSpec, Trigger, check_cron, compile};
use std::process::ExitCode;

pub(crate) async fn backfill(global: &GlobalArgs, args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.from <= args.to,
        "--from {} is after --to {}",
        args.from,
        args.to
    );
    let client = connect::client(global)?;
    let request = BackfillRequest {
        from: args.from.to_utc(),
        to: args.to.to_utc(),
        parallelism: Some(args.parallelism),
        rerun_failed: args.rerun_failed,
        project: None,
    };
    let result = client.backfill(&args.job, &request).await?;
    match global.output {
        OutputFormat::Json => output::json(&result)?,
        OutputFormat::Table => output::line(&format!(
            "backfill of {}: {} fire time(s), {} run(s) created, {} already had a run",
            args.job, result.fires, result.created, result.existing
        )),
    }
    Ok(ExitCode::SUCCESS)
}

/// Works offline: users check expressions without a server.
pub(crate) fn cron_next(global: &GlobalArgs, args: &CronNextArgs) -> anyhow::Result<ExitCode> {
    check_cron(&args.expression).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut spec = ScheduleSpec::new(Trigger::Cron(args.expression.clone()));
    spec.timezone = Some(args.tz);
    let schedule = compile(&spec, args.tz)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("compile the expression")?;
    let mut at = args
        .from
        .map_or_else(|| SystemClock.now(), |from| from.to_utc());
    let mut fires = Vec::new();
    while fires.len() < args.count {
        let Some(next) = schedule.next_after(at) else {
            break;
        };
        fires.push(next);
        at = next;
    }
    match global.output {
        OutputFormat::Json => {
            let values: Vec<_> = fires
                .iter()
                .map(|t| serde_json::json!({"utc": t, "local": t.with_timezone(&args.tz).to_rfc3339()}))
                .collect();
            output::json(&values)?;
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = fires
                .iter()
                .map(|t| {
                    vec![
                        t.with_timezone(&args.tz)
                            .format("%Y-%m-%d %H:%M:%S %Z (%:z)")
                            .to_string(),
                        t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    ]
                })
                .collect();
            output::table(&[&format!("LOCAL ({})", args.tz.name()), "UTC"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
