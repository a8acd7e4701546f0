//! `orrery job list|get|delete|pause|resume|graph|history`; versions in `versions`.

use super::args::{GlobalArgs, GraphFormat, JobCommand, OutputFormat};
use super::{connect, output, versions};
use std::process::ExitCode;

pub(crate) async fn job(global: &GlobalArgs, command: JobCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    match command {
        JobCommand::List => {
            let jobs = client.list_jobs().await?;
            match global.output {
                OutputFormat::Json => output::json(&jobs)?,
                OutputFormat::Table => output::jobs(&jobs),
            }
        }
        JobCommand::Get { name } => {
            let job = client.get_job(&name).await?;
            match global.output {
                OutputFormat::Json => output::json(&job)?,
                OutputFormat::Table => output::job(&job),
            }
        }
        JobCommand::Delete { name } => {
            client.delete_job(&name).await?;
            output::line(&format!("deleted job {name}"));
        }
        JobCommand::Pause { name } => {
            client.set_paused(&name, true).await?;
            output::line(&format!("paused job {name}"));
        }
        JobCommand::Resume { name } => {
            client.set_paused(&name, false).await?;
            output::line(&format!("resumed job {name}"));
        }
        JobCommand::Graph { name, run, format } => {
            let graph = client.graph(&name, run).await?;
            match (global.output, format) {
                (OutputFormat::Json, _) => output::json(&graph)?,
                (OutputFormat::Table, GraphFormat::Dot) => output::graph_dot(&graph),
                (OutputFormat::Table, GraphFormat::Text) => output::graph_text(&graph),
            }
        }
        JobCommand::History { name, limit } => {
            let entries = client.occurrences(&name, limit).await?;
            match global.output {
                OutputFormat::Json => output::json(&entries)?,
                OutputFormat::Table => output::occurrences(&entries),
            }
        }
        JobCommand::Versions { name } => return versions::versions(global, &client, &name).await,
        JobCommand::Diff { name, from, to } => {
            return versions::diff(&client, &name, from, to).await;
        }
        JobCommand::Rollback { name, to } => {
            return versions::rollback(global, &client, &name, to).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
