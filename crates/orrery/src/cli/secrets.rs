//! `orrery secret set|list|delete`: a project's secrets; a value goes in from stdin or
//! a file and never comes out.

use super::args::{GlobalArgs, OutputFormat, SecretCommand};
use super::{connect, output};
use anyhow::Context;
use std::io::Read;
use std::process::ExitCode;

pub(crate) async fn secret(
    global: &GlobalArgs,
    command: SecretCommand,
) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let project = global
        .project
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    match command {
        SecretCommand::Set { name, from_file } => {
            let value = match from_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("read the secret from {}", path.display()))?,
                None => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .context("read the secret from stdin")?;
                    // `echo value |` adds one newline that is not part of the value.
                    match text.strip_suffix('\n') {
                        Some(stripped) => {
                            stripped.strip_suffix('\r').unwrap_or(stripped).to_owned()
                        }
                        None => text,
                    }
                }
            };
            let info = client.set_secret(&project, &name, &value).await?;
            match global.output {
                OutputFormat::Json => output::json(&info)?,
                OutputFormat::Table => output::line(&format!(
                    "set secret {} of project {} (version {})",
                    info.name, info.project, info.version
                )),
            }
        }
        SecretCommand::List => {
            let secrets = client.list_secrets(&project).await?;
            match global.output {
                OutputFormat::Json => output::json(&secrets)?,
                OutputFormat::Table => {
                    let rows = secrets
                        .iter()
                        .map(|s| {
                            vec![
                                s.name.clone(),
                                s.version.to_string(),
                                s.updated_by.clone(),
                                s.updated_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            ]
                        })
                        .collect::<Vec<_>>();
                    output::table(&["NAME", "VERSION", "UPDATED BY", "UPDATED AT"], &rows);
                }
            }
        }
        SecretCommand::Delete { name } => {
            client.delete_secret(&project, &name).await?;
            output::line(&format!("deleted secret {name} of project {project}"));
        }
        SecretCommand::RotateKey => {
            let rotation = client.rotate_secret_key().await?;
            if global.output == OutputFormat::Json {
                output::json(&rotation)?;
            } else {
                output::line(&format!(
                    "{} secret(s) re-sealed under key {} ({} already were)",
                    rotation.resealed, rotation.key_id, rotation.current
                ));
            }
            for failed in &rotation.failed {
                eprintln!("error: secret {}: {}", failed.path, failed.message);
            }
            if !rotation.failed.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
