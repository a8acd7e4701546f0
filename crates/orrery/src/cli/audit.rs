//! `orrery audit list|verify|export`: the tamper-evident audit log.

use super::args::{AuditCommand, GlobalArgs, OutputFormat};
use super::{connect, output};
use orrery_client::AuditQuery;
use std::process::ExitCode;

/// Rows per request when exporting.
const EXPORT_PAGE: u32 = 1000;

pub(crate) async fn audit(global: &GlobalArgs, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    match command {
        AuditCommand::List {
            actor,
            action,
            since,
            limit,
        } => {
            let page = client
                .audit(&AuditQuery {
                    project: global.project.clone(),
                    actor,
                    action,
                    since,
                    limit: Some(limit),
                    ..Default::default()
                })
                .await?;
            match global.output {
                OutputFormat::Json => output::json(&page.items)?,
                OutputFormat::Table => {
                    let rows = page
                        .items
                        .iter()
                        .map(|e| {
                            let versions = match (e.before_version, e.after_version) {
                                (None, None) => "-".to_owned(),
                                (before, after) => format!(
                                    "{}→{}",
                                    before.map_or_else(|| "-".to_owned(), |v| v.to_string()),
                                    after.map_or_else(|| "-".to_owned(), |v| v.to_string())
                                ),
                            };
                            vec![
                                e.id.to_string(),
                                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                                e.actor.clone(),
                                e.project.clone().unwrap_or_else(|| "-".to_owned()),
                                e.action.clone(),
                                e.resource.clone(),
                                versions,
                                e.client_address.clone().unwrap_or_else(|| "-".to_owned()),
                            ]
                        })
                        .collect::<Vec<_>>();
                    output::table(
                        &[
                            "ID", "AT", "ACTOR", "PROJECT", "ACTION", "TARGET", "VERSION", "CLIENT",
                        ],
                        &rows,
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let check = client.verify_audit().await?;
            if global.output == OutputFormat::Json {
                output::json(&check)?;
            }
            match &check.first_broken {
                None => {
                    if global.output == OutputFormat::Table {
                        output::line(&format!(
                            "intact: {} row(s) checked ({} from before the chain)",
                            check.checked, check.unchained
                        ));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    eprintln!(
                        "error: the audit log is broken at row {}: {}",
                        broken.id, broken.reason
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::Export { since } => {
            let mut cursor = None;
            loop {
                let page = client
                    .audit(&AuditQuery {
                        project: global.project.clone(),
                        since: Some(since.clone()),
                        oldest_first: true,
                        limit: Some(EXPORT_PAGE),
                        cursor: cursor.take(),
                        ..Default::default()
                    })
                    .await?;
                for entry in &page.items {
                    output::line(&serde_json::to_string(entry)?);
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(ExitCode::SUCCESS),
                }
            }
        }
    }
}
