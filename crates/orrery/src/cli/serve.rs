//! `orrery server`: runs until SIGINT or SIGTERM, then shuts down gracefully.

use super::args::ServerArgs;
use super::server_config::server_config;
use anyhow::Context;
use orrery::start_server;
use orrery_core::clock::SystemClock;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};

pub(crate) async fn serve(
    args: ServerArgs,
    data_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    init_tracing();
    let config = server_config(&args, data_dir.as_deref())?;
    let mut server = start_server(&config, Arc::new(SystemClock))
        .await
        .context("start the server")?;
    let data = match &config.database {
        Some(_) => "data in PostgreSQL".to_owned(),
        None => format!("data in {}", config.data_dir.display()),
    };
    eprintln!(
        "orrery is listening on {} and for workers on {} ({data}, admin token in {})",
        server.url(),
        server.grpc_url(),
        config
            .data_dir
            .join(orrery::config::ADMIN_TOKEN_FILE)
            .display()
    );
    let mut terminate = signal(SignalKind::terminate()).context("install the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("install the SIGINT handler")?;
    let asked = tokio::select! {
        _ = interrupt.recv() => true,
        _ = terminate.recv() => true,
        () = server.stopped() => false,
    };
    if asked {
        // Like `orrery worker`: no new tasks, running ones may finish; a second signal
        // or the drain timeout cancels them.
        let grace = config.drain_timeout;
        tracing::info!(
            ?grace,
            "stop requested: draining the embedded worker (a second signal stops at once)"
        );
        let drained = tokio::select! {
            drained = server.drain(grace) => drained,
            _ = interrupt.recv() => false,
            _ = terminate.recv() => false,
        };
        if !drained {
            tracing::warn!("stopping with tasks still running: they are cancelled");
        }
    }
    tracing::info!("shutting down");
    server.shutdown().await.context("shut down")?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORRERY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal, not for log files and journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}
