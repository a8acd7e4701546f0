//! An Orrery server in the harness's own process, on a free loopback port and a
//! temporary data directory; running a job on it to the end; restarting it.

use crate::cli::RunWait;
use crate::prometheus::MetricsSnapshot;
use anyhow::{Context, bail};
use orrery::config::Roles;
use orrery::{RunningServer, ServerConfig, start_server};
use orrery_client::types::Run;
use orrery_client::{Client, RunFilter};
use orrery_core::clock::SystemClock;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When the scheduler has not armed a new job by then, the harness wakes it.
const WAKE_AFTER: Duration = Duration::from_secs(3);

/// A running server, a client with its admin token, and the directory it keeps data in.
pub(crate) struct BenchServer {
    server: RunningServer,
    client: Client,
    run_wait: RunWait,
    config: ServerConfig,
    // Dropped (deleted) after the server that writes into it.
    _data_dir: tempfile::TempDir,
}

/// A run that ended, as the server reports it, and how long the harness waited for it.
pub(crate) struct FinishedRun {
    pub(crate) run: Run,
    /// From just before asking to start the run until the harness saw it end.
    pub(crate) wall: Duration,
}

impl BenchServer {
    /// Starts a server whose embedded worker has `worker_slots` slots.
    pub(crate) async fn start(worker_slots: NonZeroU32, run_wait: RunWait) -> anyhow::Result<Self> {
        Self::start_with(run_wait, |config| config.worker_slots = worker_slots.get()).await
    }

    /// Starts a server without an embedded worker: its tasks run only on remote
    /// workers connected to `grpc_url`.
    pub(crate) async fn start_for_remote_workers(run_wait: RunWait) -> anyhow::Result<Self> {
        Self::start_with(run_wait, |config| {
            config.roles = Roles {
                api: true,
                scheduler: true,
                worker: false,
            };
        })
        .await
    }

    /// Starts a server on loopback ports chosen by the system and a fresh data
    /// directory, with the defaults changed by `configure`.
    async fn start_with(
        run_wait: RunWait,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir().context("create a data directory")?;
        let mut config = ServerConfig::new(data_dir.path());
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        config.grpc_listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        // `ORRERY_BENCH_DATABASE=postgres://…` runs the scenario on PostgreSQL (give
        // each invocation an empty database).
        if let Ok(url) = std::env::var("ORRERY_BENCH_DATABASE") {
            config.database = Some(url);
        }
        configure(&mut config);
        let server = start_server(&config, Arc::new(SystemClock))
            .await
            .context("start the server")?;
        let client = Client::new(&server.url(), Some(server.admin_token.clone()));
        Ok(Self {
            server,
            client,
            run_wait,
            config,
            _data_dir: data_dir,
        })
    }

    /// The URL remote workers connect to (the gRPC gateway).
    pub(crate) fn grpc_url(&self) -> String {
        self.server.grpc_url()
    }

    /// The REST client, authenticated as the admin.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// A reading of the server's `/metrics`.
    pub(crate) async fn metrics(&self) -> anyhow::Result<MetricsSnapshot> {
        let response = crate::http::get(self.server.addr, "/metrics")
            .await
            .context("read /metrics")?;
        if response.status != 200 {
            bail!("/metrics answered {}", response.status);
        }
        Ok(MetricsSnapshot::parse(&response.body))
    }

    /// Whether `/readyz` answers 200 (false on any error).
    pub(crate) async fn is_ready(&self) -> bool {
        crate::http::get(self.server.addr, "/readyz")
            .await
            .is_ok_and(|response| response.status == 200)
    }

    /// Waits until the scheduler has armed `job` (it then has a `next_fire_at`), at
    /// most `timeout`.
    ///
    /// The scheduler reads new jobs on its poll tick. If that has not happened after
    /// `WAKE_AFTER`, resuming the (unpaused) job wakes it through the API; the wakes
    /// are counted because needing one means the poll tick did not come.
    pub(crate) async fn wait_until_armed(
        &self,
        job: &str,
        timeout: Duration,
    ) -> anyhow::Result<ArmWait> {
        let began = Instant::now();
        let mut wakes = 0;
        loop {
            let detail = self
                .client
                .get_job(job)
                .await
                .with_context(|| format!("read job {job}"))?;
            let armed = detail.summary.next_fire_at.is_some();
            if armed || began.elapsed() > timeout {
                return Ok(ArmWait {
                    armed,
                    waited: began.elapsed(),
                    wakes,
                });
            }
            if began.elapsed() > WAKE_AFTER * (wakes + 1) {
                self.client
                    .set_paused(job, false)
                    .await
                    .with_context(|| format!("resume {job} to wake the scheduler"))?;
                wakes += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The data directory (SQLite database, token, endpoint file).
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self.config.data_dir
    }

    /// Shuts the server down and starts a new one on the same data directory (on a new
    /// port), as a process restart would.
    pub(crate) async fn restart(self) -> anyhow::Result<Restarted> {
        let Self {
            server,
            run_wait,
            config,
            _data_dir,
            ..
        } = self;
        let began = Instant::now();
        server.shutdown().await.context("shut the server down")?;
        let shutdown = began.elapsed();
        let server = start_server(&config, Arc::new(SystemClock))
            .await
            .context("start the server again")?;
        let start = began.elapsed() - shutdown;
        let client = Client::new(&server.url(), Some(server.admin_token.clone()));
        Ok(Restarted {
            server: Self {
                server,
                client,
                run_wait,
                config,
                _data_dir,
            },
            began,
            shutdown,
            start,
        })
    }

    /// Applies one YAML job spec.
    pub(crate) async fn apply(&self, yaml: &str) -> anyhow::Result<()> {
        self.client
            .apply(yaml, "yaml")
            .await
            .context("apply the job spec")?;
        Ok(())
    }

    /// Starts a run of `job`, waits until it ends and fails unless it succeeded.
    ///
    /// The wait polls the run listing, which carries the run's state but not its task
    /// instances, so that polling a 500-task run does not load the server with
    /// serializing every instance every few milliseconds; the full run is read once at
    /// the end.
    pub(crate) async fn run_to_end(&self, job: &str) -> anyhow::Result<FinishedRun> {
        let began = Instant::now();
        let started = self
            .client
            .start_run(job, &Default::default())
            .await
            .with_context(|| format!("start a run of {job}"))?;
        let filter = RunFilter {
            job: Some(job.to_owned()),
            limit: Some(1),
            ..RunFilter::default()
        };
        let wall = loop {
            let page = self
                .client
                .list_runs(&filter)
                .await
                .with_context(|| format!("list the runs of {job}"))?;
            let ended = page
                .items
                .iter()
                .any(|run| run.id == started.id && is_terminal(&run.state));
            if ended {
                break began.elapsed();
            }
            if began.elapsed() > self.run_wait.timeout {
                bail!(
                    "run {} of {job} did not end within {:?}",
                    started.id,
                    self.run_wait.timeout
                );
            }
            tokio::time::sleep(self.run_wait.poll_interval).await;
        };
        let run = self
            .client
            .get_run(started.id)
            .await
            .with_context(|| format!("read run {}", started.id))?;
        if run.state != "success" {
            let failed: Vec<String> = run
                .tasks
                .iter()
                .filter(|task| task.state != "success")
                .take(3)
                .map(|task| format!("{} {} {:?}", task.task, task.state, task.error))
                .collect();
            bail!(
                "run {} of {job} ended {}, not success: {}",
                run.id,
                run.state,
                failed.join("; ")
            );
        }
        Ok(FinishedRun { run, wall })
    }

    /// Stops the server.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.server
            .shutdown()
            .await
            .context("shut the server down")?;
        Ok(())
    }
}

/// How waiting for the scheduler to arm a job went.
pub(crate) struct ArmWait {
    /// False if the wait timed out.
    pub(crate) armed: bool,
    pub(crate) waited: Duration,
    /// Wakes the harness sent through the API.
    pub(crate) wakes: u32,
}

/// A server restarted on its data directory, and how long the two halves took.
pub(crate) struct Restarted {
    pub(crate) server: BenchServer,
    /// Just before the shutdown began.
    pub(crate) began: Instant,
    /// `shutdown()` of the old server.
    pub(crate) shutdown: Duration,
    /// `start_server` on the same directory, until it returned.
    pub(crate) start: Duration,
}

fn is_terminal(state: &str) -> bool {
    matches!(state, "success" | "failed" | "cancelled")
}
