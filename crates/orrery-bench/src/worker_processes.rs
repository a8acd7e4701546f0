//! `orrery worker` processes from the build next to the harness, connected to a
//! `BenchServer`'s gRPC gateway; killed when stopped or dropped.

use crate::cpu_ticks::CpuTicks;
use crate::harness::BenchServer;
use anyhow::{Context, bail, ensure};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::process::{Child, Command};

/// The command that builds the harness and the `orrery` binary side by side.
const BUILD_BOTH: &str = "cargo build --release -p orrery -p orrery-bench";
/// How long the workers get to connect and register.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(30);
/// Log lines of a failed worker quoted in the error.
const LOG_TAIL_LINES: usize = 20;

/// The `orrery` binary in the harness's own directory, or an error naming the build
/// command when it is not there.
pub(crate) fn orrery_binary() -> anyhow::Result<PathBuf> {
    let harness = std::env::current_exe().context("find the harness's own executable")?;
    let directory = harness
        .parent()
        .with_context(|| format!("{} has no parent directory", harness.display()))?;
    let binary = directory.join("orrery");
    ensure!(
        binary.is_file(),
        "the remote-workers scenario starts `orrery worker` processes from {}, which does not \
         exist; build it next to the harness with `{BUILD_BOTH}`",
        binary.display()
    );
    Ok(binary)
}

/// Running `orrery worker` processes, all connected to one server.
pub(crate) struct WorkerProcesses {
    workers: Vec<WorkerProcess>,
}

/// One worker process with the directory holding its work directory and log.
struct WorkerProcess {
    name: String,
    // Spawned with `kill_on_drop`, so an early return or a panic kills it too.
    child: Child,
    log_path: PathBuf,
    // Dropped (deleted) after the process is killed.
    _directory: TempDir,
}

/// How many workers to start and how each is set up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WorkerSet {
    pub(crate) n_workers: NonZeroU32,
    /// Slots of each worker.
    pub(crate) slots: NonZeroU32,
    pub(crate) cgroups: Cgroups,
}

/// Whether the workers put task attempts into cgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cgroups {
    /// The worker's default: cgroups where the host allows them.
    Auto,
    /// `--no-cgroups`.
    Off,
}

impl Cgroups {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cgroups::Auto => "auto",
            Cgroups::Off => "off",
        }
    }
}

impl WorkerProcesses {
    /// Starts the workers of `set` (`bench-w0`, `bench-w1`, …) with a worker token
    /// created through the API, and waits until the server lists every one of them as
    /// connected.
    pub(crate) async fn start(
        server: &BenchServer,
        binary: &Path,
        set: WorkerSet,
    ) -> anyhow::Result<Self> {
        let token = server
            .client()
            .create_token("bench-workers", "worker")
            .await
            .context("create a worker token")?;
        let launch = Launch {
            binary,
            grpc_url: server.grpc_url(),
            token: token.secret,
            set,
        };
        let mut workers = Vec::new();
        for worker_idx in 0..set.n_workers.get() {
            workers.push(WorkerProcess::spawn(
                &launch,
                format!("bench-w{worker_idx}"),
            )?);
        }
        let mut processes = Self { workers };
        if let Err(error) = processes.wait_until_registered(server).await {
            processes.stop().await;
            return Err(error);
        }
        Ok(processes)
    }

    /// The clock ticks all workers have used so far; `None` off Linux or when a worker
    /// has exited and been reaped.
    pub(crate) fn cpu_ticks(&self) -> Option<CpuTicks> {
        self.workers
            .iter()
            .try_fold(CpuTicks::default(), |sum, worker| {
                Some(sum + CpuTicks::of_process(worker.child.id()?)?)
            })
    }

    /// Kills every worker and waits for it to exit. A worker that logged an error is
    /// reported on stderr with its log, since its figures may not be what they seem.
    pub(crate) async fn stop(mut self) {
        for worker in &mut self.workers {
            // An error means the process had already exited, which is the goal.
            let _ = worker.child.kill().await;
            let logged_errors = std::fs::read_to_string(&worker.log_path)
                .is_ok_and(|log| log.lines().any(|line| line.contains(" ERROR ")));
            if logged_errors {
                eprintln!(
                    "worker {} logged errors:\n{}",
                    worker.name,
                    worker.log_tail()
                );
            }
        }
    }

    async fn wait_until_registered(&mut self, server: &BenchServer) -> anyhow::Result<()> {
        let began = Instant::now();
        loop {
            for worker in &mut self.workers {
                if let Some(status) = worker.child.try_wait().context("poll a worker")? {
                    bail!(
                        "worker {} exited with {status} before it registered; its log:\n{}",
                        worker.name,
                        worker.log_tail()
                    );
                }
            }
            let listed = server
                .client()
                .list_workers()
                .await
                .context("list the workers")?;
            let unregistered: Vec<&WorkerProcess> = self
                .workers
                .iter()
                .filter(|worker| {
                    !listed
                        .iter()
                        .any(|info| info.name == worker.name && info.state == "connected")
                })
                .collect();
            let Some(first_unregistered) = unregistered.first() else {
                return Ok(());
            };
            if began.elapsed() > REGISTER_TIMEOUT {
                bail!(
                    "{} of {} workers did not register within {REGISTER_TIMEOUT:?}; the log \
                     of {}:\n{}",
                    unregistered.len(),
                    self.workers.len(),
                    first_unregistered.name,
                    first_unregistered.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What every worker of a set is started with.
struct Launch<'a> {
    binary: &'a Path,
    grpc_url: String,
    token: String,
    set: WorkerSet,
}

impl WorkerProcess {
    fn spawn(launch: &Launch<'_>, name: String) -> anyhow::Result<Self> {
        let Launch {
            binary,
            grpc_url,
            token,
            set,
        } = launch;
        let directory = tempfile::tempdir().context("create a worker directory")?;
        let log_path = directory.path().join("worker.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("create {}", log_path.display()))?;
        let mut command = Command::new(binary);
        command
            .args(["worker", "--scheduler", grpc_url.as_str(), "--name", &name])
            .args(["--slots", &set.slots.to_string(), "--gpus", "0"]);
        if set.cgroups == Cgroups::Off {
            command.arg("--no-cgroups");
        }
        let child = command
            .arg("--work-dir")
            .arg(directory.path().join("work"))
            // In the environment rather than as `--token`, to keep it out of `ps`.
            .env("ORRERY_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {} worker", binary.display()))?;
        Ok(Self {
            name,
            child,
            log_path,
            _directory: directory,
        })
    }

    /// The last lines of the worker's log, or why they cannot be read.
    fn log_tail(&self) -> String {
        match std::fs::read_to_string(&self.log_path) {
            Ok(log) => {
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
            }
            Err(error) => format!("(cannot read {}: {error})", self.log_path.display()),
        }
    }
}
