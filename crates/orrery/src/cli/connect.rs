//! Finding the server and its token: flags or environment first, then the session
//! of `orrery login` (unless a data directory is named), then what a local server
//! wrote to its data directory.

use super::args::GlobalArgs;
use super::credentials;
use anyhow::Context;
use orrery::config::{ADMIN_TOKEN_FILE, DEFAULT_LISTEN, ENDPOINT_FILE};
use orrery_client::Client;

/// The server a command talks to: `--server`, else a local server's address.
pub(crate) fn server(global: &GlobalArgs) -> anyhow::Result<String> {
    Ok(match &global.server {
        Some(server) if !server.contains("://") => anyhow::bail!(
            "--server {server:?}: give a URL with its scheme, such as http://{server}"
        ),
        Some(server) => server.clone(),
        None => std::fs::read_to_string(global.data_dir().join(ENDPOINT_FILE))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| format!("http://{DEFAULT_LISTEN}")),
    })
}

pub(crate) fn client(global: &GlobalArgs) -> anyhow::Result<Client> {
    // A stored session counts when no token and no data directory are named, and it
    // belongs to the server asked for (or none is).
    let session = match (&global.token, global.data_dir_flag()) {
        (None, None) => credentials::load(now()).filter(|s| {
            global
                .server
                .as_ref()
                .is_none_or(|server| *server == s.server)
        }),
        _ => None,
    };
    let server = match &session {
        Some(session) => session.server.clone(),
        None => server(global)?,
    };
    let token = match (&global.token, session) {
        (Some(token), _) => token.clone(),
        (None, Some(session)) => session.token,
        (None, None) => {
            let path = global.data_dir().join(ADMIN_TOKEN_FILE);
            std::fs::read_to_string(&path)
                .map(|s| s.trim().to_owned())
                .with_context(|| {
                    format!(
                        "find an API token: none given with --token or ORRERY_TOKEN, and {} is not readable \
                         (start the server with `orrery server` first, or pass --data-dir)",
                        path.display()
                    )
                })?
        }
    };
    let client = Client::new(&server, Some(token));
    Ok(match &global.project {
        Some(project) => client.in_project(project.clone()),
        None => client,
    })
}

/// The wall clock, for a stored session's expiry.
fn now() -> chrono::DateTime<chrono::Utc> {
    use orrery_core::clock::Clock;
    orrery_core::clock::SystemClock.now()
}
