//! Spawning a program many times straight from the harness, without Orrery: the
//! baseline that task processes are compared with.

use crate::stats::duration_ms;
use anyhow::{Context, ensure};
use std::num::NonZeroU32;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;
use tokio::task::JoinSet;

/// Spawns `program` with `args` `n_times` times, at most `parallelism` at once, each
/// awaited (`tokio::process`); the total wall time in milliseconds.
///
/// Each of `parallelism` loops takes the next spawn as soon as its previous one
/// exited, as a worker's slots take the next task; a parallelism of 1 spawns one after
/// the other.
pub(crate) async fn spawn_many(
    program: &str,
    args: &[&str],
    n_times: u32,
    parallelism: NonZeroU32,
) -> anyhow::Result<f64> {
    let next_spawn = Arc::new(AtomicU32::new(0));
    let args: Arc<[String]> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let began = Instant::now();
    let mut loops = JoinSet::new();
    for _ in 0..parallelism.get() {
        let program = program.to_owned();
        let args = Arc::clone(&args);
        let next_spawn = Arc::clone(&next_spawn);
        loops.spawn(async move {
            while next_spawn.fetch_add(1, Ordering::Relaxed) < n_times {
                spawn_once(&program, &args).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(finished) = loops.join_next().await {
        finished.context("a spawn loop panicked")??;
    }
    Ok(duration_ms(began.elapsed()))
}

async fn spawn_once(program: &str, args: &[String]) -> anyhow::Result<()> {
    let status = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .with_context(|| format!("spawn {program}"))?;
    ensure!(status.success(), "{program} {args:?} exited with {status}");
    Ok(())
}
