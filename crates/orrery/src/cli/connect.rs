//! Finding the server and its token: flags or environment first, then what a local
//! server wrote to its data directory.

use super::args::GlobalArgs;
use anyhow::Context;
use orrery::config::{ADMIN_TOKEN_FILE, DEFAULT_LISTEN, ENDPOINT_FILE};
use orrery_client::Client;

pub(crate) fn client(global: &GlobalArgs) -> anyhow::Result<Client> {
    let server = match &global.server {
        Some(server) if !server.contains("://") => anyhow::bail!(
            "--server {server:?}: give a URL with its scheme, such as http://{server}"
        ),
        Some(server) => server.clone(),
        None => std::fs::read_to_string(global.data_dir().join(ENDPOINT_FILE))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| format!("http://{DEFAULT_LISTEN}")),
    };
    let token = match &global.token {
        Some(token) => token.clone(),
        None => {
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
