//! An all-in-one Orrery server in the test's process, on a free loopback port and a
//! temporary data directory.

use crate::eventually::eventually_async;
use crate::logging::init_logging;
use chrono::{DateTime, Utc};
use orrery::{RunningServer, ServerConfig, start_server};
use orrery_client::Client;
use orrery_client::types::Run;
use orrery_core::clock::{Clock, ManualClock, SystemClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A running server and the directory it keeps its data in.
pub struct TestServer {
    pub server: RunningServer,
    /// The PostgreSQL database of this server, when `ORRERY_TEST_BACKEND=postgres`
    /// (dropped with the server).
    database: Option<std::sync::Arc<orrery_store::test_support::TestDatabase>>,
    /// ERRORs logged in this process when the server started.
    errors_at_start: usize,
    pub config: ServerConfig,
    pub client: Client,
    data_dir: tempfile::TempDir,
    clock: Arc<dyn Clock>,
}

impl TestServer {
    /// Starts a server with test-friendly settings (fast polling, short kill grace).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` changed its config.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        Self::start_with_clock(Arc::new(SystemClock), adjust).await
    }

    /// Starts a server whose time only moves when the returned clock is advanced.
    pub async fn start_manual(start: DateTime<Utc>) -> (TestServer, ManualClock) {
        let clock = ManualClock::new(start);
        // Time only moves by hand: nothing to correct against the database's clock.
        let server = Self::start_with_clock(Arc::new(clock.clone()), |config| {
            config.correct_clock_offset = false;
        })
        .await;
        let wake = server.server.scheduler.clone();
        clock.on_advance(move || wake.wake());
        (server, clock)
    }

    /// Starts a server reading time from `clock`.
    pub async fn start_with_clock(
        clock: Arc<dyn Clock>,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        init_logging();
        let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("create a temp dir: {e}"));
        let mut config = test_config(data_dir.path());
        // `ORRERY_TEST_BACKEND=postgres` runs the system tests on PostgreSQL: a fresh
        // database per server (and kept across its restarts).
        let database = if std::env::var("ORRERY_TEST_BACKEND").as_deref() == Ok("postgres") {
            let database = orrery_store::test_support::TestDatabase::create()
                .await
                .unwrap_or_else(|e| panic!("create a test database: {e}"))
                .unwrap_or_else(|| {
                    panic!("ORRERY_TEST_BACKEND=postgres needs ORRERY_TEST_POSTGRES_URL")
                });
            config.database = Some(database.url().to_owned());
            Some(std::sync::Arc::new(database))
        } else {
            None
        };
        adjust(&mut config);
        Self::start_in(data_dir, config, clock, database).await
    }

    async fn start_in(
        data_dir: tempfile::TempDir,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
        database: Option<std::sync::Arc<orrery_store::test_support::TestDatabase>>,
    ) -> TestServer {
        let server = start_server(&config, clock.clone())
            .await
            .unwrap_or_else(|e| panic!("start the test server: {e}"));
        let client = Client::new(&server.url(), Some(server.admin_token.clone()));
        TestServer {
            server,
            database,
            errors_at_start: crate::logging::errors_logged(),
            config,
            client,
            data_dir,
            clock,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Stops the server gracefully and starts a new one on the same data directory.
    pub async fn restart(self) -> TestServer {
        self.restart_after(|| {}).await
    }

    /// Like [`restart`](Self::restart), running `while_down` (e.g. moving a manual
    /// clock) after the old server stopped and before the new one starts.
    pub async fn restart_after(self, while_down: impl FnOnce()) -> TestServer {
        let TestServer {
            server,
            mut config,
            data_dir,
            clock,
            database,
            ..
        } = self;
        // Remote workers reconnect to the same gateway address.
        config.grpc_listen = server.grpc_addr;
        server
            .shutdown()
            .await
            .unwrap_or_else(|e| panic!("shut down: {e}"));
        while_down();
        Self::start_in(data_dir, config, clock, database).await
    }

    /// Applies a YAML spec, panicking on refusal.
    pub async fn apply(&self, yaml: &str) {
        self.client
            .apply(yaml, "yaml")
            .await
            .unwrap_or_else(|e| panic!("apply failed: {e}"));
    }

    /// Starts a run of `job` with default params and waits until it ends.
    pub async fn run_to_end(&self, job: &str) -> Run {
        let run = self
            .client
            .start_run(job, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("start run of {job}: {e}"));
        wait_for_run_end(&self.client, run.id, Duration::from_secs(60)).await
    }

    /// Stops the server, failing the test if it logged an ERROR (see
    /// [`stop_allowing_errors`](Self::stop_allowing_errors) for tests that provoke one).
    pub async fn stop(self) {
        let errors = crate::logging::errors_logged() - self.errors_at_start;
        self.server
            .shutdown()
            .await
            .unwrap_or_else(|e| panic!("shut down: {e}"));
        assert_eq!(
            errors, 0,
            "the server logged {errors} unexpected ERROR(s); see the test output"
        );
    }

    /// Stops the server without checking its log.
    pub async fn stop_allowing_errors(self) {
        self.server
            .shutdown()
            .await
            .unwrap_or_else(|e| panic!("shut down: {e}"));
    }
}

fn test_config(data_dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::new(data_dir);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.grpc_listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.poll_interval = Duration::from_millis(200);
    config.kill_grace = Duration::from_millis(500);
    config
}

/// Waits until run `id` is in a terminal state and returns it.
pub async fn wait_for_run_end(client: &Client, id: i64, timeout: Duration) -> Run {
    eventually_async(&format!("run {id} to end"), timeout, || async {
        let run = client.get_run(id).await.ok()?;
        matches!(run.state.as_str(), "success" | "failed" | "cancelled").then_some(run)
    })
    .await
}
