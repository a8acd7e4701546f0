//! Remote workers: real `orrery worker` processes connected over gRPC to a server
//! without an embedded worker. Placement by group, labels and resources; failover
//! after kill -9; a paused worker's late result rejected; cancel reaching a remote
//! process; broadcast; authentication.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orrery::config::Roles;
use orrery_core::clock::{Clock, SystemClock};
use orrery_core::ids::RunId;
use orrery_store::records::TaskRecord;
use orrery_testkit::{TestServer, eventually_async, wait_for_run_end};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_orrery");
const SAFETY: Duration = Duration::from_secs(60);
const WORKER_TOKEN: &str = "worker-secret-for-tests";

/// A server with no embedded worker, quick heartbeats and a short TTL.
async fn server() -> TestServer {
    let server = TestServer::start_with(|config| {
        config.roles = Roles {
            api: true,
            scheduler: true,
            worker: false,
        };
        config.heartbeat_interval = Duration::from_millis(200);
        config.worker_ttl = Duration::from_millis(1500);
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
struct Worker {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Worker {
    fn start(server: &TestServer, name: &str, extra: &[&str]) -> Worker {
        Self::start_at(&server.server.grpc_url(), WORKER_TOKEN, name, extra)
    }

    fn start_at(url: &str, token: &str, name: &str, extra: &[&str]) -> Worker {
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
        Worker { child, _dir: dir }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"))
    }

    fn signal(&self, signal: Signal) {
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

async fn wait_for_workers(server: &TestServer, names: &[&str]) {
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

async fn tasks(server: &TestServer, run: i64) -> Vec<TaskRecord> {
    server
        .server
        .store
        .run_tasks(RunId(run))
        .await
        .expect("read the run's tasks")
}

async fn start(server: &TestServer, job: &str) -> i64 {
    server
        .client
        .start_run(job, &Default::default())
        .await
        .expect("start a run")
        .id
}

/// Waits until the run's task `name` has an attempt in `state`, and returns it.
async fn attempt_in(server: &TestServer, run: i64, name: &str, state: &str) -> TaskRecord {
    eventually_async(&format!("{name} to be {state}"), SAFETY, || async {
        tasks(server, run)
            .await
            .into_iter()
            .find(|t| t.task_name == name && t.state.as_str() == state)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_land_only_on_workers_that_fit_and_others_say_why_they_wait() {
    let server = server().await;
    let _cpu = Worker::start(&server, "cpu-1", &["--label", "zone=a", "--gpus", "0"]);
    let _gpu = Worker::start(&server, "gpu-1", &["--group", "gpu", "--gpus", "1"]);
    wait_for_workers(&server, &["cpu-1", "gpu-1"]).await;
    server
        .apply(
            r#"
name: placement
tasks:
  - name: train
    type: shell
    script: echo training
    worker: {group: gpu}
    resources: {gpu: 1}
  - name: etl
    type: shell
    script: echo etl
    worker: {labels: {zone: a}}
  - name: two-gpus
    type: shell
    script: echo never
    worker: {group: gpu}
    resources: {gpu: 2}
"#,
        )
        .await;
    let run = start(&server, "placement").await;
    let waiting = eventually_async("two-gpus to say why it waits", SAFETY, || async {
        tasks(&server, run)
            .await
            .into_iter()
            .find(|t| t.task_name == "two-gpus")
            .and_then(|t| t.waiting_reason)
    })
    .await;
    assert_eq!(waiting, "no worker in group \"gpu\" has 2 GPUs");
    let train = attempt_in(&server, run, "train", "success").await;
    let etl = attempt_in(&server, run, "etl", "success").await;
    assert_eq!(train.worker.as_deref(), Some("gpu-1"));
    assert_eq!(etl.worker.as_deref(), Some("cpu-1"));
    assert!(train.worker_id.is_some());
    server.client.cancel_run(run).await.expect("cancel");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_task_is_retried_on_the_other_worker() {
    let server = server().await;
    let mut first = Worker::start(&server, "first", &[]);
    wait_for_workers(&server, &["first"]).await;
    server
        .apply(
            r#"
name: failover
tasks:
  - name: work
    type: shell
    script: 'sleep 1; echo "done on attempt $ORRERY_ATTEMPT"'
"#,
        )
        .await;
    let run = start(&server, "failover").await;
    attempt_in(&server, run, "work", "running").await;
    let _second = Worker::start(&server, "second", &[]);
    wait_for_workers(&server, &["second"]).await;
    first.signal(Signal::SIGKILL);
    let _ = first.child.wait();
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert_eq!(attempts[0].state.as_str(), "lost");
    assert_eq!(attempts[0].worker.as_deref(), Some("first"));
    assert!(
        attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no heartbeat")),
        "{:?}",
        attempts[0].error
    );
    assert_eq!(attempts[1].state.as_str(), "success");
    assert_eq!(attempts[1].worker.as_deref(), Some("second"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_worker_s_late_result_is_rejected_and_the_retry_stands() {
    let server = server().await;
    let paused = Worker::start(&server, "paused", &[]);
    wait_for_workers(&server, &["paused"]).await;
    server
        .apply(
            r#"
name: late
tasks:
  - name: work
    type: shell
    script: 'sleep 1; echo "attempt $ORRERY_ATTEMPT"'
"#,
        )
        .await;
    let run = start(&server, "late").await;
    attempt_in(&server, run, "work", "running").await;
    paused.signal(Signal::SIGSTOP);
    attempt_in(&server, run, "work", "lost").await;
    let _other = Worker::start(&server, "other", &[]);
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    // The paused worker wakes up, finishes attempt 1 and reports it: rejected.
    paused.signal(Signal::SIGCONT);
    let logs = eventually_async("the late result to be recorded", SAFETY, || async {
        let logs = server.client.logs(run, Some("work"), None).await.ok()?;
        logs.iter()
            .any(|l| l.text.contains("rejected result from worker paused"))
            .then_some(logs)
    })
    .await;
    assert!(logs.iter().any(|l| l.text == "attempt 2"), "{logs:#?}");
    let attempts = tasks(&server, run).await;
    assert_eq!(
        attempts[0].state.as_str(),
        "lost",
        "the late result changed nothing"
    );
    assert_eq!(attempts[1].state.as_str(), "success");
    assert_eq!(attempts[1].worker.as_deref(), Some("other"));
    server.stop_allowing_errors().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_a_remote_task_and_kills_its_process_group() {
    let server = server().await;
    let _worker = Worker::start(&server, "w", &[]);
    wait_for_workers(&server, &["w"]).await;
    server
        .apply(
            r#"
name: long
tasks:
  - name: sleeper
    type: shell
    script: 'sleep 60 & echo $!; wait'
"#,
        )
        .await;
    let run = start(&server, "long").await;
    let pid = eventually_async("the grandchild's pid in the log", SAFETY, || async {
        let logs = server.client.logs(run, Some("sleeper"), None).await.ok()?;
        logs.first()?.text.trim().parse::<i32>().ok()
    })
    .await;
    server.client.cancel_run(run).await.expect("cancel");
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "cancelled");
    eventually_async("the remote process to be gone", SAFETY, || async {
        (kill(Pid::from_raw(pid), None).is_err()).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_task_runs_once_on_each_worker_with_distinct_shards() {
    let server = server().await;
    let _workers: Vec<Worker> = ["b1", "b2", "b3"]
        .iter()
        .map(|name| Worker::start(&server, name, &[]))
        .collect();
    wait_for_workers(&server, &["b1", "b2", "b3"]).await;
    server
        .apply(
            r#"
name: everywhere
tasks:
  - name: clean
    type: shell
    script: 'echo "shard $ORRERY_SHARD_INDEX of $ORRERY_SHARD_TOTAL"'
    dispatch: broadcast
"#,
        )
        .await;
    let run = start(&server, "everywhere").await;
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let shards: Vec<TaskRecord> = tasks(&server, run)
        .await
        .into_iter()
        .filter(|t| t.map_index.is_some())
        .collect();
    assert_eq!(shards.len(), 3);
    let mut workers: Vec<String> = shards.iter().filter_map(|t| t.worker.clone()).collect();
    workers.sort();
    assert_eq!(workers, ["b1", "b2", "b3"]);
    let logs = server.client.logs(run, None, None).await.expect("logs");
    let mut lines: Vec<String> = logs
        .iter()
        .map(|l| l.text.clone())
        .filter(|t| t.starts_with("shard"))
        .collect();
    lines.sort();
    assert_eq!(lines, ["shard 0 of 3", "shard 1 of 3", "shard 2 of 3"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_a_bad_token_is_refused_with_a_clear_message() {
    let server = server().await;
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(BIN)
        .args(["worker", "--scheduler", &server.server.grpc_url()])
        .args(["--token", "not-a-token", "--work-dir"])
        .arg(dir.path())
        .output()
        .expect("run orrery worker");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the worker token is not valid"),
        "stderr: {stderr}"
    );
    server.stop().await;
}

/// A TCP proxy in front of the gateway whose connections can be cut, as a network
/// fault would: the worker process keeps running and reconnects through it.
struct Proxy {
    addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
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
    fn cut(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_disconnected_shorter_than_its_ttl_keeps_its_task() {
    let server = server().await;
    let proxy = Proxy::start(server.server.grpc_addr).await;
    let _worker = Worker::start_at(
        &format!("http://{}", proxy.addr),
        WORKER_TOKEN,
        "flaky",
        &[],
    );
    wait_for_workers(&server, &["flaky"]).await;
    server
        .apply(
            r#"
name: keep
tasks:
  - name: work
    type: shell
    script: 'sleep 2; echo "finished attempt $ORRERY_ATTEMPT"'
"#,
        )
        .await;
    let run = start(&server, "keep").await;
    attempt_in(&server, run, "work", "running").await;
    proxy.cut();
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    assert_eq!(attempts.len(), 1, "no retry: {attempts:#?}");
    let logs = server
        .client
        .logs(run, Some("work"), None)
        .await
        .expect("logs");
    assert!(
        logs.iter().any(|l| l.text == "finished attempt 1"),
        "{logs:#?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_through_two_workers_all_complete_once() {
    let server = server().await;
    let _a = Worker::start(&server, "a", &[]);
    let _b = Worker::start(&server, "b", &[]);
    wait_for_workers(&server, &["a", "b"]).await;
    server
        .apply(
            "name: many\ntasks:\n  - {name: each, type: noop, for_each: '{{ range(10000) | list }}'}\n",
        )
        .await;
    let run = start(&server, "many").await;
    let ended = wait_for_run_end(&server.client, run, Duration::from_secs(240)).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    let instances: Vec<&TaskRecord> = attempts.iter().filter(|t| t.map_index.is_some()).collect();
    assert_eq!(
        instances.len(),
        10_000,
        "one attempt each: none lost or repeated"
    );
    assert!(instances.iter().all(|t| t.state.as_str() == "success"));
    let mut indexes: Vec<u32> = instances.iter().filter_map(|t| t.map_index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 10_000);
    for name in ["a", "b"] {
        let ran = instances
            .iter()
            .filter(|t| t.worker.as_deref() == Some(name))
            .count();
        assert!(ran > 0, "worker {name} ran none");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_task_keeps_running_across_a_scheduler_restart() {
    let server = server().await;
    let _worker = Worker::start(&server, "steady", &[]);
    wait_for_workers(&server, &["steady"]).await;
    server
        .apply(
            r#"
name: survive
tasks:
  - name: work
    type: shell
    script: 'sleep 2; echo "finished attempt $ORRERY_ATTEMPT"'
"#,
        )
        .await;
    let run = start(&server, "survive").await;
    attempt_in(&server, run, "work", "running").await;
    let server = server.restart().await;
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success");
    let attempts = tasks(&server, run).await;
    assert_eq!(attempts.len(), 1, "adopted, not retried: {attempts:#?}");
    assert_eq!(attempts[0].worker.as_deref(), Some("steady"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_worker_its_task_finishes_and_it_exits() {
    let server = server().await;
    let mut worker = Worker::start(&server, "leaving", &[]);
    wait_for_workers(&server, &["leaving"]).await;
    server
        .apply(
            r#"
name: finish-first
tasks:
  - name: work
    type: shell
    script: 'sleep 1; echo finished'
"#,
        )
        .await;
    let run = start(&server, "finish-first").await;
    attempt_in(&server, run, "work", "running").await;
    worker.signal(Signal::SIGTERM);
    let ended = wait_for_run_end(&server.client, run, SAFETY).await;
    assert_eq!(ended.state, "success", "the running task finished");
    let deadline = std::time::Instant::now() + SAFETY;
    let status = loop {
        if let Some(status) = worker.child.try_wait().expect("wait on the worker") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not exit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a drained worker exits 0: {status:?}");
    // It took nothing new meanwhile: a second run waits for a worker.
    let second = start(&server, "finish-first").await;
    let waiting = attempt_in(&server, second, "work", "queued").await;
    assert!(waiting.worker.is_none());
    server.client.cancel_run(second).await.expect("cancel");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_worker_gets_no_new_tasks() {
    let server = server().await;
    let _first = Worker::start(&server, "first", &[]);
    let _second = Worker::start(&server, "second", &[]);
    wait_for_workers(&server, &["first", "second"]).await;
    let drained = server.client.drain_worker("first").await.expect("drain");
    assert_eq!(drained.len(), 1);
    eventually_async("first to drain", SAFETY, || async {
        let workers = server.server.store.workers().await.ok()?;
        workers
            .iter()
            .any(|w| w.name == "first" && matches!(w.state.as_str(), "drained" | "disconnected"))
            .then_some(())
    })
    .await;
    server
        .apply("name: after-drain\ntasks:\n  - {name: t, type: shell, script: 'echo hi'}\n")
        .await;
    for _ in 0..5 {
        let run = start(&server, "after-drain").await;
        assert_eq!(
            wait_for_run_end(&server.client, run, SAFETY).await.state,
            "success"
        );
        let attempts = tasks(&server, run).await;
        assert_eq!(attempts[0].worker.as_deref(), Some("second"));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_speaking_another_protocol_version_is_refused() {
    use orrery_proto::pb::worker_gateway_client::WorkerGatewayClient;
    use orrery_proto::pb::{Capacity, Register, WorkerFrame, scheduler_frame, worker_frame};
    let server = server().await;
    let mut client = WorkerGatewayClient::connect(server.server.grpc_url())
        .await
        .expect("connect");
    let register = WorkerFrame {
        message: Some(worker_frame::Message::Register(Register {
            name: "ancient".to_owned(),
            protocol_version: 0,
            version: "0.0.1".to_owned(),
            worker_id: "ancient-1".to_owned(),
            group: String::new(),
            labels: Default::default(),
            capacity: Some(Capacity {
                slots: 1,
                ..Capacity::default()
            }),
            attempts: Vec::new(),
        })),
    };
    let mut request = tonic::Request::new(futures_util::stream::iter([register]));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {WORKER_TOKEN}").parse().expect("header"),
    );
    let mut answers = client.session(request).await.expect("stream").into_inner();
    let answer = answers
        .message()
        .await
        .expect("an answer")
        .expect("a frame");
    match answer.message {
        Some(scheduler_frame::Message::Refused(refused)) => assert!(
            refused.reason.contains("protocol 0") && refused.reason.contains("upgrade"),
            "{}",
            refused.reason
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_connects_over_tls() {
    let certs = tempfile::tempdir().expect("dir");
    let path = |name: &str| certs.path().join(name);
    let (ca, cert, key) = (path("ca.pem"), path("cert.pem"), path("key.pem"));
    // A CA, and a server certificate for 127.0.0.1 signed by it.
    let steps: [Vec<std::ffi::OsString>; 3] = [
        openssl_args(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=test-ca",
                "-keyout",
            ],
            &[&path("ca-key.pem"), "-out".as_ref(), &ca],
        ),
        openssl_args(
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
            ],
            &[&key, "-out".as_ref(), &path("req.pem")],
        ),
        openssl_args(
            &["x509", "-req", "-days", "1", "-CAcreateserial", "-extfile"],
            &[
                &path("ext.cnf"),
                "-in".as_ref(),
                &path("req.pem"),
                "-CA".as_ref(),
                &ca,
                "-CAkey".as_ref(),
                &path("ca-key.pem"),
                "-out".as_ref(),
                &cert,
            ],
        ),
    ];
    std::fs::write(
        path("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("ext");
    for args in steps {
        let made = Command::new("openssl").args(&args).output();
        if !made.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("SKIPPED: openssl cannot make test certificates: {made:?}");
            return;
        }
    }
    let (cert_file, key_file) = (cert.clone(), key.clone());
    let server = TestServer::start_with(move |config| {
        config.roles = Roles {
            api: true,
            scheduler: true,
            worker: false,
        };
        config.grpc_tls = Some(orrery::config::TlsFiles {
            cert: cert_file,
            key: key_file,
        });
    })
    .await;
    server
        .server
        .store
        .create_token("tls-workers", "worker", WORKER_TOKEN, SystemClock.now())
        .await
        .expect("token");
    let url = format!("https://{}", server.server.grpc_addr);
    let _worker = Worker::start_at(
        &url,
        WORKER_TOKEN,
        "secure",
        &["--ca-cert", ca.to_str().expect("path")],
    );
    wait_for_workers(&server, &["secure"]).await;
    server
        .apply("name: over-tls\ntasks:\n  - {name: t, type: shell, script: 'echo safe'}\n")
        .await;
    let run = start(&server, "over-tls").await;
    assert_eq!(
        wait_for_run_end(&server.client, run, SAFETY).await.state,
        "success"
    );
    server.stop().await;
}

fn openssl_args(flags: &[&str], paths: &[&std::path::Path]) -> Vec<std::ffi::OsString> {
    flags
        .iter()
        .map(std::ffi::OsString::from)
        .chain(paths.iter().map(|p| p.as_os_str().to_owned()))
        .collect()
}
