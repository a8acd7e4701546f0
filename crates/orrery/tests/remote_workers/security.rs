//! Who may connect: tokens, protocol versions, TLS.

use super::harness::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_speaking_another_protocol_version_is_refused() {
    use orrery_proto::pb::worker_gateway_client::WorkerGatewayClient;
    use orrery_proto::pb::{Capacity, Register, WorkerFrame, scheduler_frame, worker_frame};
    let server = server().await;
    let client = WorkerGatewayClient::connect(server.server.grpc_url())
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
    // A server that has not yet claimed leadership answers "standby": wait for it.
    let mut answers = orrery_testkit::eventually_async(
        "the scheduler to take the worker's stream",
        std::time::Duration::from_secs(30),
        || {
            let mut client = client.clone();
            let mut request = tonic::Request::new(futures_util::stream::iter([register.clone()]));
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {WORKER_TOKEN}").parse().expect("header"),
            );
            async move { client.session(request).await.ok().map(|r| r.into_inner()) }
        },
    )
    .await;
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
    let dir = tempfile::tempdir().expect("dir");
    // A CA, and a server certificate for 127.0.0.1 signed by it.
    let Some(certs) = orrery_testkit::TestCertificates::make(dir.path()) else {
        eprintln!("SKIPPED: openssl cannot make test certificates");
        return;
    };
    let (ca, cert, key) = (certs.ca, certs.cert, certs.key);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_worker_in_the_same_work_directory_exits_naming_the_first() {
    let server = server().await;
    let first = Worker::start(&server, "first", &[]);
    wait_for_workers(&server, &["first"]).await;
    let output = Command::new(BIN)
        .args(["worker", "--scheduler", &server.server.grpc_url()])
        .args(["--token", WORKER_TOKEN, "--name", "second", "--work-dir"])
        .arg(first.dir.path())
        .output()
        .expect("run orrery worker");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "in use by another worker (pid {})",
            first.child.id()
        )),
        "stderr: {stderr}"
    );
    // The first worker was not displaced: it is the only one and still connected.
    let workers = server.client.list_workers().await.expect("workers");
    let names: Vec<(&str, &str)> = workers
        .iter()
        .filter(|w| w.name != "embedded")
        .map(|w| (w.name.as_str(), w.state.as_str()))
        .collect();
    assert_eq!(names, vec![("first", "connected")]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_given_the_api_url_connects_through_it() {
    let server = server().await;
    let _worker = Worker::start_at(&server.server.url(), WORKER_TOKEN, "via-api", &[]);
    wait_for_workers(&server, &["via-api"]).await;
    apply_one(&server, "through-api", "echo ran").await;
    let run = start(&server, "through-api").await;
    let attempt = attempt_in(&server, run, "work", "success").await;
    assert_eq!(attempt.worker.as_deref(), Some("via-api"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pointed_at_something_else_says_so_in_one_line() {
    // An HTTP/2 server that is not an Orrery gateway: every path is a JSON 404.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            "{\"error\":\"not found\"}",
        )
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BIN)
        .args(["worker", "--scheduler", &format!("http://{addr}")])
        .args(["--token", WORKER_TOKEN, "--work-dir"])
        .arg(dir.path())
        .env("ORRERY_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn orrery worker");
    let stderr = child.stderr.take().expect("stderr");
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("cannot connect"))
    });
    // Killing the worker closes its stderr, which ends the reader if it still waits.
    let read = tokio::time::timeout(Duration::from_secs(30), reader).await;
    let _ = child.kill();
    let _ = child.wait();
    let line = match read {
        Ok(joined) => joined.expect("read stderr").unwrap_or_default(),
        Err(_) => String::new(),
    };
    assert!(
        line.contains("is not an Orrery worker gateway"),
        "the worker said: {line}"
    );
}
