//! `orrery alert list|history`, `orrery silence create|list|expire` and `orrery
//! receiver list|test`: a project's alerting from the command line.

use super::args::{AlertCommand, GlobalArgs, OutputFormat, ReceiverCommand, SilenceCommand};
use super::{connect, output};
use orrery_client::types::CreateSilenceRequest;
use std::collections::BTreeMap;
use std::process::ExitCode;

const TIME: &str = "%Y-%m-%d %H:%M:%S";

fn project_of(global: &GlobalArgs) -> String {
    global
        .project
        .clone()
        .unwrap_or_else(|| "default".to_owned())
}

pub(crate) async fn alert(global: &GlobalArgs, command: AlertCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let project = project_of(global);
    match command {
        AlertCommand::List { state, limit } => {
            let alerts = client
                .list_alerts(&project, state.as_deref(), limit)
                .await?;
            if global.output == OutputFormat::Json {
                return output::json(&alerts).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = alerts
                .iter()
                .map(|a| {
                    let labels = |key: &str| a.labels.get(key).cloned().unwrap_or_default();
                    vec![
                        a.alertname.clone(),
                        a.state.clone(),
                        labels("severity"),
                        labels("job"),
                        labels("task"),
                        a.starts_at.format(TIME).to_string(),
                        a.annotations.get("error").map_or_else(String::new, |e| {
                            e.lines()
                                .next()
                                .unwrap_or_default()
                                .chars()
                                .take(60)
                                .collect()
                        }),
                    ]
                })
                .collect();
            output::table(
                &[
                    "ALERT", "STATE", "SEVERITY", "JOB", "TASK", "SINCE", "ERROR",
                ],
                &rows,
            );
        }
        AlertCommand::History { limit } => {
            let history = client.alert_history(&project, limit).await?;
            if global.output == OutputFormat::Json {
                return output::json(&history).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|n| {
                    vec![
                        n.id.to_string(),
                        n.receiver.clone(),
                        n.state.clone(),
                        n.alerts.to_string(),
                        n.attempts.to_string(),
                        n.created_at.format(TIME).to_string(),
                        n.last_error
                            .clone()
                            .or_else(|| n.response.clone())
                            .unwrap_or_default()
                            .chars()
                            .take(60)
                            .collect(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "ID",
                    "RECEIVER",
                    "STATE",
                    "ALERTS",
                    "ATTEMPTS",
                    "QUEUED",
                    "LAST ANSWER",
                ],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn silence(
    global: &GlobalArgs,
    command: SilenceCommand,
) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let project = project_of(global);
    match command {
        SilenceCommand::Create {
            matchers,
            duration,
            comment,
        } => {
            let mut parsed = BTreeMap::new();
            for matcher in &matchers {
                let Some((name, value)) = matcher.split_once('=') else {
                    anyhow::bail!("--matcher {matcher:?} is not label=value");
                };
                parsed.insert(name.trim().to_owned(), value.trim().to_owned());
            }
            let silence = client
                .create_silence(
                    &project,
                    &CreateSilenceRequest {
                        matchers: parsed,
                        duration,
                        comment,
                    },
                )
                .await?;
            if global.output == OutputFormat::Json {
                output::json(&silence)?;
            } else {
                output::line(&format!(
                    "silence {} mutes {} in project {} until {}",
                    silence.id,
                    matchers.join(", "),
                    silence.project,
                    silence.ends_at.format(TIME)
                ));
            }
        }
        SilenceCommand::List => {
            let silences = client.list_silences(&project).await?;
            if global.output == OutputFormat::Json {
                return output::json(&silences).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = silences
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.state.clone(),
                        s.matchers
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(","),
                        s.ends_at.format(TIME).to_string(),
                        s.created_by.clone(),
                        s.comment.clone(),
                    ]
                })
                .collect();
            output::table(&["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"], &rows);
        }
        SilenceCommand::Expire { id } => {
            client.expire_silence(&project, id).await?;
            output::line(&format!("silence {id} of project {project} expired"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn receiver(
    global: &GlobalArgs,
    command: ReceiverCommand,
) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let project = project_of(global);
    match command {
        ReceiverCommand::List => {
            let configs = client.list_receivers(&project).await?;
            if global.output == OutputFormat::Json {
                return output::json(&configs).map(|()| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = configs
                .iter()
                .map(|c| {
                    vec![
                        c.kind.clone(),
                        c.name.clone(),
                        c.channel.clone().unwrap_or_default(),
                        c.updated_at.format(TIME).to_string(),
                    ]
                })
                .collect();
            output::table(&["KIND", "NAME", "CHANNEL", "UPDATED"], &rows);
        }
        ReceiverCommand::Test { name } => {
            let result = client.test_receiver(&project, &name).await?;
            if global.output == OutputFormat::Json {
                output::json(&result)?;
            } else if result.sent {
                output::line(&format!("sent; {name} answered: {}", result.answer));
            } else {
                eprintln!("error: not sent to {name}: {}", result.answer);
            }
            if !result.sent {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
