//! `orrery worker`: a remote worker connected to a scheduler's gateway, draining on
//! SIGTERM; `orrery worker list|drain` ask the API.

use super::args::{GlobalArgs, OutputFormat, WorkerArgs, WorkerCommand, WorkerRunArgs};
use super::{connect, output};
use anyhow::Context;
use orrery_core::clock::SystemClock;
use orrery_core::spec::{parse_cpu_millis, parse_memory};
use orrery_worker::{GrpcConnector, WorkerConfig, WorkerError, run_worker};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

pub(crate) async fn worker(global: &GlobalArgs, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        None => run(global, args.run).await,
        Some(WorkerCommand::List) => {
            let client = connect::client(global)?;
            let workers = client.list_workers().await?;
            match global.output {
                OutputFormat::Json => output::json(&workers)?,
                OutputFormat::Table => output::workers(&workers),
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(WorkerCommand::Drain { name }) => {
            let client = connect::client(global)?;
            let drained = client.drain_worker(&name).await?;
            for worker in drained {
                output::line(&format!(
                    "draining worker {} ({}): {} running task(s) will finish, no new ones start",
                    worker.name, worker.id, worker.running
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn run(global: &GlobalArgs, args: WorkerRunArgs) -> anyhow::Result<ExitCode> {
    super::serve::init_tracing();
    anyhow::ensure!(
        !args.scheduler.is_empty(),
        "--scheduler is required: the gateway URL of a scheduler, e.g. http://127.0.0.1:7071"
    );
    let token = global.token.clone().context(
        "--token (or ORRERY_TOKEN) is required: create a worker token with `orrery token create --kind worker`",
    )?;
    let config = worker_config(&args)?;
    let ca_certificate = args
        .ca_cert
        .as_ref()
        .map(|path| {
            std::fs::read(path)
                .with_context(|| format!("read the CA certificate {}", path.display()))
        })
        .transpose()?;
    let connector = GrpcConnector::new(args.scheduler.clone(), token, ca_certificate);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (drain, drain_rx) = watch::channel(false);
    eprintln!(
        "orrery worker {} ({} slots, group {}) connecting to {}",
        config.name,
        config.slots,
        config.group,
        args.scheduler.join(", ")
    );
    let mut worker = tokio::spawn(run_worker(
        config,
        connector,
        Arc::new(SystemClock),
        shutdown_rx,
        drain_rx,
    ));
    let mut terminate = signal(SignalKind::terminate()).context("install the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("install the SIGINT handler")?;
    let grace = args.drain_timeout.as_std();
    let result = tokio::select! {
        result = &mut worker => result,
        _ = async { tokio::select! { _ = terminate.recv() => {}, _ = interrupt.recv() => {} } } => {
            tracing::info!(?grace, "stop requested: draining (a second signal stops at once)");
            drain.send_replace(true);
            tokio::select! {
                result = &mut worker => result,
                () = tokio::time::sleep(grace) => {
                    tracing::warn!("drain timeout reached: cancelling running tasks");
                    shutdown.send_replace(true);
                    worker.await
                }
                _ = async { tokio::select! { _ = terminate.recv() => {}, _ = interrupt.recv() => {} } } => {
                    shutdown.send_replace(true);
                    worker.await
                }
            }
        }
    };
    match result.context("the worker task panicked")? {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(WorkerError::Refused(reason)) => {
            anyhow::bail!("the scheduler refused this worker: {reason}")
        }
        Err(error) => Err(error.into()),
    }
}

fn worker_config(args: &WorkerRunArgs) -> anyhow::Result<WorkerConfig> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => orrery::config::host_name().unwrap_or_else(|| "worker".to_owned()),
    };
    let mut config = WorkerConfig::new(name, &args.work_dir);
    config.slots = args.slots;
    config.group.clone_from(&args.group);
    config.labels = args.labels.iter().cloned().collect();
    config.cpu_millis = match &args.cpu {
        Some(cpu) => parse_cpu_millis(cpu).map_err(|e| anyhow::anyhow!("--cpu: {e}"))?,
        None => std::thread::available_parallelism()
            .map(|n| {
                u32::try_from(n.get())
                    .unwrap_or(u32::MAX)
                    .saturating_mul(1000)
            })
            .unwrap_or(0),
    };
    config.memory_bytes = match &args.memory {
        Some(memory) => parse_memory(memory).map_err(|e| anyhow::anyhow!("--memory: {e}"))?,
        None => total_memory().unwrap_or(0),
    };
    if let Some(allow) = &args.env_allow {
        config.env_allow.clone_from(allow);
    }
    config.cgroups = !args.no_cgroups;
    config.gpus = match args.gpus.as_str() {
        "auto" => detect_gpus(),
        count => count
            .parse()
            .map_err(|_| anyhow::anyhow!("--gpus: expected a number or `auto`, found {count:?}"))?,
    };
    Ok(config)
}

/// `MemTotal` from /proc/meminfo.
fn total_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// GPUs listed by `nvidia-smi -L`; none when it is absent or fails.
fn detect_gpus() -> u32 {
    match std::process::Command::new("nvidia-smi").arg("-L").output() {
        Ok(output) if output.status.success() => {
            let listed = String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|l| l.starts_with("GPU "))
                .count();
            u32::try_from(listed).unwrap_or(0)
        }
        _ => 0,
    }
}
