//! `orrery cluster status`: which node leads, and every node's state, from the API.

use super::args::{GlobalArgs, OutputFormat};
use super::{connect, output};
use std::process::ExitCode;

pub(crate) async fn status(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let status = client.cluster_status().await?;
    match global.output {
        OutputFormat::Json => output::json(&status)?,
        OutputFormat::Table => output::cluster_status(&status),
    }
    Ok(ExitCode::SUCCESS)
}
