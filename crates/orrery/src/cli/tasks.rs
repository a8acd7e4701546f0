//! `orrery task retry|mark`.

use super::args::{GlobalArgs, TaskCommand};
use super::connect;
use super::runs::finish;
use orrery_client::types::TaskRetryRequest;
use std::process::ExitCode;

pub(crate) async fn task(global: &GlobalArgs, command: TaskCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    let run = match command {
        TaskCommand::Retry {
            run,
            task,
            downstream,
        } => {
            client
                .retry_task(run, &task, &TaskRetryRequest { downstream })
                .await?
        }
        TaskCommand::Mark { run, task, state } => client.mark_task(run, &task, &state).await?,
    };
    finish(global, &client, run, false).await
}
