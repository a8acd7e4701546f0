//! `orrery token|project|user|member`: tenancy and access from the command line, with
//! their tables.

use super::args::{
    GlobalArgs, MemberCommand, OutputFormat, ProjectCommand, TokenCommand, UserCommand,
};
use super::{connect, output};
use anyhow::Context;
use chrono::{DateTime, Utc};
use orrery_client::types::{
    CreateTokenRequest, CreateUserRequest, SetMemberRequest, UpdateProjectRequest,
};
use std::io::Read;
use std::process::ExitCode;

/// Project a command names when `--project` is not given.
const DEFAULT_PROJECT: &str = "default";

pub(crate) async fn token(global: &GlobalArgs, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    match command {
        TokenCommand::Create {
            kind,
            name,
            user,
            role,
            expires,
        } => {
            let project = role.as_ref().map(|_| {
                global
                    .project
                    .clone()
                    .unwrap_or_else(|| DEFAULT_PROJECT.to_owned())
            });
            let kind = if user.is_some() || role.is_some() {
                String::new()
            } else {
                kind
            };
            let name = name.unwrap_or_else(|| match (&user, &project) {
                (Some(user), _) => user.clone(),
                (None, Some(project)) => format!("{project}-service"),
                (None, None) => kind.clone(),
            });
            let token = client
                .create_token_with(&CreateTokenRequest {
                    name,
                    kind,
                    user,
                    project,
                    role,
                    expires_in: expires,
                })
                .await?;
            match global.output {
                OutputFormat::Json => output::json(&token)?,
                OutputFormat::Table => {
                    let owner = match (&token.user, &token.project, &token.role) {
                        (Some(user), _, _) => format!("personal token of {user}"),
                        (None, Some(project), Some(role)) => {
                            format!("service token of project {project}, role {role}")
                        }
                        _ => format!("{} token", token.kind),
                    };
                    let expires = token.expires_at.map_or_else(
                        || "never expires".to_owned(),
                        |at| format!("expires {}", time(at)),
                    );
                    eprintln!(
                        "created {owner} {:?} (id {}; {expires}); its secret, shown only now:",
                        token.name, token.id
                    );
                    // The secret alone on the last line, for scripts.
                    output::line(&token.secret);
                }
            }
            if token.kind == "worker" {
                eprintln!(
                    "start a worker with: orrery worker --scheduler URL --token <this secret>"
                );
            }
        }
        TokenCommand::List => {
            let tokens = client.list_tokens(global.project.as_deref()).await?;
            match global.output {
                OutputFormat::Json => output::json(&tokens)?,
                OutputFormat::Table => {
                    let rows = tokens
                        .iter()
                        .map(|t| {
                            let owner = match (&t.user, &t.project) {
                                (Some(user), _) => format!("user {user}"),
                                (None, Some(project)) => format!("project {project}"),
                                (None, None) => "cluster".to_owned(),
                            };
                            let state = if t.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "active"
                            };
                            vec![
                                t.id.to_string(),
                                t.name.clone(),
                                t.kind.clone(),
                                owner,
                                t.role.clone().unwrap_or_else(|| "-".to_owned()),
                                time(t.created_at),
                                t.expires_at.map_or_else(|| "-".to_owned(), time),
                                t.last_used_at.map_or_else(|| "-".to_owned(), time),
                                state.to_owned(),
                            ]
                        })
                        .collect::<Vec<_>>();
                    output::table(
                        &[
                            "ID",
                            "NAME",
                            "KIND",
                            "OWNER",
                            "ROLE",
                            "CREATED",
                            "EXPIRES",
                            "LAST USED",
                            "STATE",
                        ],
                        &rows,
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            client.revoke_token(id).await?;
            output::line(&format!("revoked token {id}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn project(
    global: &GlobalArgs,
    command: ProjectCommand,
) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let shown = match command {
        ProjectCommand::Create { name, description } => {
            Some(client.create_project(&name, &description).await?)
        }
        ProjectCommand::Get { name } => Some(client.get_project(&name).await?),
        ProjectCommand::Set { name, description } => Some(
            client
                .update_project(&name, &UpdateProjectRequest { description })
                .await?,
        ),
        ProjectCommand::Delete { name } => {
            client.delete_project(&name).await?;
            output::line(&format!("deleted project {name}"));
            None
        }
        ProjectCommand::List => {
            let projects = client.list_projects().await?;
            match global.output {
                OutputFormat::Json => output::json(&projects)?,
                OutputFormat::Table => {
                    let rows = projects
                        .iter()
                        .map(|p| {
                            vec![
                                p.name.clone(),
                                time(p.created_at),
                                p.created_by.clone(),
                                p.description.clone(),
                            ]
                        })
                        .collect::<Vec<_>>();
                    output::table(&["NAME", "CREATED", "BY", "DESCRIPTION"], &rows);
                }
            }
            None
        }
    };
    if let Some(project) = shown {
        match global.output {
            OutputFormat::Json => output::json(&project)?,
            OutputFormat::Table => {
                output::line(&format!("project:     {}", project.name));
                output::line(&format!("description: {}", project.description));
                output::line(&format!(
                    "created:     {} by {}",
                    time(project.created_at),
                    project.created_by
                ));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn user(global: &GlobalArgs, command: UserCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let shown = match command {
        UserCommand::Create {
            name,
            password_stdin,
            cluster_admin,
        } => {
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("read the password from stdin")?;
                // One trailing newline is how `echo` and a terminal end the input.
                let text = text.strip_suffix('\n').unwrap_or(&text);
                let text = text.strip_suffix('\r').unwrap_or(text);
                Some(text.to_owned())
            } else {
                None
            };
            vec![
                client
                    .create_user(&CreateUserRequest {
                        name,
                        password,
                        cluster_admin,
                    })
                    .await?,
            ]
        }
        UserCommand::Disable { name } => vec![client.disable_user(&name).await?],
        UserCommand::List => client.list_users().await?,
    };
    match global.output {
        OutputFormat::Json => output::json(&shown)?,
        OutputFormat::Table => {
            let rows = shown
                .iter()
                .map(|u| {
                    vec![
                        u.name.clone(),
                        if u.cluster_admin { "yes" } else { "no" }.to_owned(),
                        if u.has_password { "password" } else { "sso" }.to_owned(),
                        time(u.created_at),
                        u.disabled_at.map_or_else(|| "-".to_owned(), time),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &["NAME", "CLUSTER ADMIN", "SIGN-IN", "CREATED", "DISABLED"],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn member(
    global: &GlobalArgs,
    command: MemberCommand,
) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let members = match command {
        MemberCommand::Add {
            project,
            user,
            group,
            role,
        } => vec![
            client
                .set_member(&project, &SetMemberRequest { user, group, role })
                .await?,
        ],
        MemberCommand::List { project } => client.list_members(&project).await?,
        MemberCommand::Remove {
            project,
            user,
            group,
        } => {
            let (subject, is_group) = match (user, group) {
                (_, Some(group)) => (group, true),
                (Some(user), None) => (user, false),
                (None, None) => anyhow::bail!("name a user, or a group with --group"),
            };
            client.remove_member(&project, &subject, is_group).await?;
            let kind = if is_group { "group" } else { "user" };
            output::line(&format!("removed {kind} {subject} from project {project}"));
            return Ok(ExitCode::SUCCESS);
        }
    };
    match global.output {
        OutputFormat::Json => output::json(&members)?,
        OutputFormat::Table => {
            let rows = members
                .iter()
                .map(|m| {
                    let (kind, subject) = match (&m.user, &m.group) {
                        (Some(user), _) => ("user", user.clone()),
                        (None, Some(group)) => ("group", group.clone()),
                        (None, None) => ("-", "-".to_owned()),
                    };
                    vec![
                        m.project.clone(),
                        kind.to_owned(),
                        subject,
                        m.role.clone(),
                        time(m.added_at),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["PROJECT", "KIND", "NAME", "ROLE", "ADDED"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}
