//! `orrery job versions|diff|rollback`: a job's history of specs.

use super::args::{GlobalArgs, OutputFormat};
use super::output;
use orrery_client::Client;
use orrery_client::types::JobVersionInfo;
use std::process::ExitCode;

pub(crate) async fn versions(
    global: &GlobalArgs,
    client: &Client,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let job = client.get_job(name).await?;
    match global.output {
        OutputFormat::Json => {
            let brief: Vec<serde_json::Value> = job
                .versions
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "version": v.version,
                        "created_at": v.created_at,
                        "created_by": v.created_by,
                        "spec_sha256": v.spec_sha256,
                    })
                })
                .collect();
            output::json(&brief)?;
        }
        OutputFormat::Table => {
            let rows = job
                .versions
                .iter()
                .map(|v| {
                    vec![
                        v.version.to_string(),
                        v.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        v.created_by.clone(),
                        v.spec_sha256.chars().take(12).collect(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["VERSION", "CREATED", "BY", "SPEC SHA-256"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn diff(
    client: &Client,
    name: &str,
    from: Option<u32>,
    to: Option<u32>,
) -> anyhow::Result<ExitCode> {
    let job = client.get_job(name).await?;
    let find = |version: u32| -> anyhow::Result<&JobVersionInfo> {
        job.versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "job {name:?} has no version {version}; its versions are 1 to {}",
                    job.summary.latest_version
                )
            })
    };
    let to = to.unwrap_or(job.summary.latest_version);
    let from = match from {
        Some(from) => from,
        None if to > 1 => to - 1,
        None => anyhow::bail!("job {name:?} has one version only: nothing to compare"),
    };
    let (old, new) = (find(from)?, find(to)?);
    let text = orrery_core::spec::spec_diff(
        &old.spec,
        &new.spec,
        &format!("{name} version {from}"),
        &format!("{name} version {to}"),
    );
    if text.is_empty() {
        output::line(&format!("versions {from} and {to} are the same"));
    } else {
        for line in text.lines() {
            output::line(line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn rollback(
    global: &GlobalArgs,
    client: &Client,
    name: &str,
    to: u32,
) -> anyhow::Result<ExitCode> {
    let result = client.rollback_job(name, to).await?;
    match global.output {
        OutputFormat::Json => output::json(&result)?,
        OutputFormat::Table => output::line(&format!(
            "job {} rolled back to version {to}: now version {} ({})",
            result.job,
            result.version,
            match result.status {
                orrery_client::types::ApplyStatus::Unchanged =>
                    "its spec was already that version's",
                _ => "a new version with that version's spec",
            }
        )),
    }
    Ok(ExitCode::SUCCESS)
}
