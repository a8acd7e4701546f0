//! `orrery login|logout|whoami`: password sign-in to a server, kept for later commands
//! (SSO sign-in is in `sso_login`).

use super::args::{GlobalArgs, OutputFormat};
use super::{connect, credentials, output};
use anyhow::Context;
use orrery_client::Client;
use orrery_client::types::LoginRequest;
use std::io::Read;
use std::process::ExitCode;

pub(crate) async fn login(
    global: &GlobalArgs,
    username: &str,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let server = connect::server(global)?;
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read the password from stdin")?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.strip_suffix('\r').unwrap_or(text).to_owned()
    } else {
        rpassword::prompt_password(format!("password for {username} at {server}: "))
            .context("read the password (or pass it with --password-stdin)")?
    };
    let session = Client::new(&server, None)
        .login(&LoginRequest {
            username: username.to_owned(),
            password,
        })
        .await?;
    keep_session(&server, session)
}

/// Stores a new session for later commands and says so.
pub(crate) fn keep_session(
    server: &str,
    session: orrery_client::types::LoginSession,
) -> anyhow::Result<ExitCode> {
    let path = credentials::store(&credentials::Credentials {
        server: server.to_owned(),
        user: session.user.clone(),
        token: session.token,
        expires_at: session.expires_at,
    })?;
    output::line(&format!(
        "signed in to {server} as {} until {} (session in {})",
        session.user,
        session.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn logout(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let Some(session) = credentials::forget() else {
        output::line("not signed in");
        return Ok(ExitCode::SUCCESS);
    };
    let server = global.server.clone().unwrap_or(session.server.clone());
    // The session is forgotten either way; revoking it makes a copy useless too.
    match Client::new(&server, Some(session.token)).logout().await {
        Ok(()) => output::line(&format!("signed out of {server} ({})", session.user)),
        Err(error) => eprintln!("forgot the session; revoking it at {server} failed: {error}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn whoami(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let me = connect::client(global)?.whoami().await?;
    match global.output {
        OutputFormat::Json => output::json(&me)?,
        OutputFormat::Table => {
            output::line(&format!("{} ({})", me.actor, me.kind.replace('_', " ")));
            if me.cluster_admin {
                output::line("cluster admin: every project, users, workers");
            } else if me.roles.is_empty() {
                output::line("editor of every project");
            }
            for (project, role) in &me.roles {
                output::line(&format!("{project}: {role}"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
