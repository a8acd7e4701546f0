//! `orrery run start|list|get|cancel|logs`.

use super::args::{GlobalArgs, OutputFormat, RunCommand, StartArgs};
use super::{connect, output};
use anyhow::Context;
use orrery_client::types::{Run, StartRunRequest};
use orrery_client::{Client, LogStreamEvent, RunFilter};
use std::process::ExitCode;
use std::time::Duration;

pub(crate) async fn run(global: &GlobalArgs, command: RunCommand) -> anyhow::Result<ExitCode> {
    let client = connect::client(global)?;
    match command {
        RunCommand::Start(args) => start(global, &client, args).await,
        RunCommand::Rerun {
            run,
            from_failed,
            wait,
        } => {
            let request = orrery_client::types::RerunRequest { from_failed };
            let rerun = client.rerun(run, &request).await?;
            finish(global, &client, rerun, wait).await
        }
        RunCommand::List(args) => {
            let filter = RunFilter {
                job: args.job,
                state: args.state,
                limit: Some(args.limit),
                cursor: None,
            };
            let page = client.list_runs(&filter).await?;
            match global.output {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => output::runs(&page.items),
            }
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Get { run } => {
            show(global, &client.get_run(run).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Cancel { run } => {
            let run = client.cancel_run(run).await?;
            output::line(&format!(
                "cancel requested for run {} (state {})",
                run.id, run.state
            ));
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Logs(args) => {
            let with_task = args.task.is_none();
            if args.follow {
                let mut end_state = None;
                client
                    .follow_logs(args.run, args.task.as_deref(), |event| match event {
                        LogStreamEvent::Line(line) => output::log_line(&line, with_task),
                        LogStreamEvent::End { state } => end_state = Some(state),
                    })
                    .await?;
                if let Some(state) = end_state {
                    eprintln!("run {} ended: {state}", args.run);
                }
            } else {
                let mut after = None;
                loop {
                    let lines = client.logs(args.run, args.task.as_deref(), after).await?;
                    let Some(last) = lines.last() else { break };
                    after = Some(last.seq);
                    for line in &lines {
                        output::log_line(line, with_task);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn start(global: &GlobalArgs, client: &Client, args: StartArgs) -> anyhow::Result<ExitCode> {
    let mut params = serde_json::Map::new();
    for param in &args.params {
        let (key, value) = param
            .split_once('=')
            .with_context(|| format!("--param {param:?}: expected KEY=VALUE"))?;
        params.insert(key.to_owned(), typed_value(value));
    }
    let request = StartRunRequest {
        params,
        project: None,
        logical_date: args.logical_date.map(|d| d.with_timezone(&chrono::Utc)),
    };
    let run = client.start_run(&args.job, &request).await?;
    finish(global, client, run, args.wait).await
}

/// Prints the started run, or waits for it and exits by its outcome.
pub(crate) async fn finish(
    global: &GlobalArgs,
    client: &Client,
    run: Run,
    wait: bool,
) -> anyhow::Result<ExitCode> {
    if !wait {
        match global.output {
            OutputFormat::Json => output::json(&run)?,
            OutputFormat::Table => output::line(&format!("started run {} of {}", run.id, run.job)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "started run {} of {}; waiting for it to end",
        run.id, run.job
    );
    let run = wait_for_end(client, run.id).await?;
    show(global, &run)?;
    Ok(if run.state == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn wait_for_end(client: &Client, id: i64) -> anyhow::Result<Run> {
    let mut delay = Duration::from_millis(50);
    // On a terminal, each task's state is shown as it changes; piped, nothing is.
    let show_progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut shown: std::collections::HashMap<(String, u32), String> = Default::default();
    loop {
        let run = client.get_run(id).await?;
        if show_progress {
            for task in &run.tasks {
                let key = (task.task.clone(), task.attempt);
                if shown.get(&key) != Some(&task.state) {
                    let retry = if task.attempt > 1 {
                        format!(" (attempt {})", task.attempt)
                    } else {
                        String::new()
                    };
                    eprintln!("  {}{retry}: {}", task.task, task.state);
                    shown.insert(key, task.state.clone());
                }
            }
        }
        if matches!(run.state.as_str(), "success" | "failed" | "cancelled") {
            return Ok(run);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

fn show(global: &GlobalArgs, run: &Run) -> anyhow::Result<()> {
    match global.output {
        OutputFormat::Json => output::json(run),
        OutputFormat::Table => {
            output::run(run);
            Ok(())
        }
    }
}

/// `5` → number, `true` → bool, anything else → string.
fn typed_value(text: &str) -> serde_json::Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => value,
        _ => serde_json::Value::String(text.to_owned()),
    }
}
