//! What every remote-worker test uses: a server without an embedded worker, real
//! `orrery worker` processes, a TCP proxy that can cut connections.

#![allow(dead_code, unreachable_pub)] // each test module uses a different part

pub use nix::sys::signal::{Signal, kill};
pub use nix::unistd::Pid;
pub use orrery::config::Roles;
pub use orrery_core::clock::{Clock, SystemClock};
pub use orrery_core::ids::RunId;
pub use orrery_store::records::TaskRecord;
pub use orrery_testkit::{TestServer, eventually_async, wait_for_run_end};
pub use std::process::{Child, Command, Stdio};
pub use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_orrery");
pub const SAFETY: Duration = Duration::from_secs(60);
pub const WORKER_TOKEN: &str = "worker-secret-for-tests";

/// A server with no embedded worker, quick heartbeats and a short TTL.
pub async fn server() -> TestServer {
    server_with_ttl(Duration::from_millis(1500)).await
}

/// Like [`server`] with another worker TTL (a long one for tests that load the machine
/// and must not see a worker declared lost).
pub async fn server_with_ttl(ttl: Duration) -> TestServer {
    let server = TestServer::start_with(move |config| {
        config.roles = Roles {
            api: true,
            scheduler: true,
            worker: false,
        };
        config.heartbeat_interval = Duration::from_millis(200);
        config.worker_ttl = ttl;
        config.poll_interval = Duration::from_millis(100);
    })
    .await;
    server
        .server
        .store
        .create_token("test-workers", "worker", WORKER_TOKEN, SystemClock.now())
        .await
        .expect("create a worker token");
    server
}

/// An `orrery worker` process; killed when dropped.
pub struct Worker {
    pub child: Child,
    pub dir: tempfile::TempDir,
}

impl Worker {
    pub fn start(server: &TestServer, name: &str, extra: &[&str]) -> Worker {
        Self::start_at(&server.server.grpc_url(), WORKER_TOKEN, name, extra)
    }

    pub fn start_at(url: &str, token: &str, name: &str, extra: &[&str]) -> Worker {
        let dir = tempfile::tempdir().expect("worker dir");
        let child = Command::new(BIN)
            .args([
                "worker",
                "--scheduler",
                url,
                "--token",
                token,
                "--name",
                name,
            ])
            .arg("--work-dir")
            .arg(dir.path())
            .args(["--slots", "4", "--drain-timeout", "5s"])
            .args(extra)
            .env("ORRERY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn orrery worker");
        Worker { child, dir }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"))
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("signal the worker");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Applies job `job` with one shell task `work` running `script`.
pub async fn apply_one(server: &TestServer, job: &str, script: &str) {
    let script = script.replace('\'', "''");
    server
        .apply(&format!(
            "name: {job}\ntasks:\n  - name: work\n    type: shell\n    script: '{script}'\n"
        ))
        .await;
}

pub async fn wait_for_workers(server: &TestServer, names: &[&str]) {
    eventually_async("workers to register", SAFETY, || async {
        let workers = server.server.store.workers().await.ok()?;
        names
            .iter()
            .all(|name| {
                workers
                    .iter()
                    .any(|w| w.name == *name && w.state == "connected")
            })
            .then_some(())
    })
    .await;
}

pub async fn tasks(server: &TestServer, run: i64) -> Vec<TaskRecord> {
    server
        .server
        .store
        .run_tasks(RunId(run))
        .await
        .expect("read the run's tasks")
}

pub async fn start(server: &TestServer, job: &str) -> i64 {
    server
        .client
        .start_run(job, &Default::default())
        .await
        .expect("start a run")
        .id
}

/// Waits until the run's task `name` has an attempt in `state`, and returns it.
pub async fn attempt_in(server: &TestServer, run: i64, name: &str, state: &str) -> TaskRecord {
    eventually_async(&format!("{name} to be {state}"), SAFETY, || async {
        tasks(server, run)
            .await
            .into_iter()
            .find(|t| t.task_name == name && t.state.as_str() == state)
    })
    .await
}

/// A TCP proxy in front of the gateway whose connections can be cut, as a network
/// fault would: the worker process keeps running and reconnects through it.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, cut }
    }

    /// Drops every open connection.
    pub fn cut(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }
}
