//! The real binary on PostgreSQL: `orrery server --database <url>` runs a job end to
//! end with everything stored in PostgreSQL, and a database it cannot reach stops it
//! at once with a message naming the host (never the password).

use orrery_store::Store;
use orrery_store::test_support::TestDatabase;
use orrery_testkit::{BinaryServer, eventually};
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_orrery");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test's own database calls")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `orrery server` on `database`, with its token and endpoint files in `data_dir`.
fn start(data_dir: &std::path::Path, database: &str) -> BinaryServer {
    BinaryServer::start(BIN, data_dir, &["--database", database])
}

#[test]
fn the_server_runs_hello_on_postgres() {
    let runtime = runtime();
    let Some(database) = runtime
        .block_on(TestDatabase::create())
        .expect("create a test database")
    else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let server = start(data.path(), database.url());

    let out = server.cli(&["apply", "-f", "examples/hello.yaml"]);
    assert!(out.status.success(), "apply: {}", stderr(&out));
    let out = server.cli(&[
        "run",
        "start",
        "hello",
        "--param",
        "who=Postgres",
        "--wait",
        "-o",
        "json",
    ]);
    assert!(
        out.status.success(),
        "run start --wait: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(run["state"], "success", "{run}");
    let id = run["id"].as_i64().expect("id").to_string();
    let out = server.cli(&["run", "logs", &id]);
    assert!(
        stdout(&out).contains("hello, Postgres"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let status = server.stop().status;
    assert!(status.success(), "a clean shutdown: {status}");

    // Everything went to PostgreSQL: no SQLite file, and the job is in the database.
    assert!(!data.path().join("orrery.db").exists());
    let jobs = runtime.block_on(async {
        let store = Store::connect(database.url()).await.expect("connect");
        let jobs = store.list_jobs().await.expect("jobs");
        store.close().await;
        jobs
    });
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["hello"]);
}

#[test]
fn an_unreachable_database_stops_the_server_with_a_message_naming_the_host() {
    let data = tempfile::tempdir().expect("tempdir");
    // Nothing listens on port 1: the connection is refused at once.
    let out = Command::new(BIN)
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--database",
            "postgres://orrery:hunter2@127.0.0.1:1/orrery",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .env("ORRERY_LOG", "warn")
        .output()
        .expect("run orrery server");
    let message = stderr(&out);
    assert!(!out.status.success(), "must fail: {message}");
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains("cannot open the database at postgres://orrery@127.0.0.1:1/orrery"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn nodes_on_one_host_get_distinct_names() {
    let runtime = runtime();
    let Some(database) = runtime
        .block_on(TestDatabase::create())
        .expect("create a test database")
    else {
        return;
    };
    let first_dir = tempfile::tempdir().expect("tempdir");
    let second_dir = tempfile::tempdir().expect("tempdir");
    let first = start(first_dir.path(), database.url());
    let second = start(second_dir.path(), database.url());
    let status: serde_json::Value = eventually(
        "both nodes in cluster status",
        Duration::from_secs(30),
        || {
            let out = first.cli(&["cluster", "status", "-o", "json"]);
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (status["nodes"].as_array()?.len() == 2).then_some(status)
        },
    );
    let nodes = status["nodes"].as_array().expect("nodes");
    let names: Vec<&str> = nodes.iter().filter_map(|n| n["name"].as_str()).collect();
    assert_ne!(names[0], names[1], "{status:#}");
    for node in nodes {
        let name = node["name"].as_str().expect("name");
        let port = node["api_address"]
            .as_str()
            .and_then(|a| a.rsplit(':').next())
            .expect("api address");
        assert!(name.ends_with(&format!(":{port}")), "{node:#}");
    }

    assert!(first.stop().status.success());
    assert!(second.stop().status.success());
}
