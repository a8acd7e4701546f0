//! High availability on PostgreSQL with real server processes: when the leader is
//! killed, or paused past its lease and resumed, a standby takes over; every fire of an
//! every-second job still yields exactly one run, and a deposed leader changes nothing.
//! Skipped (with a message) when `ORRERY_TEST_POSTGRES_URL` is not set.

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use orrery_core::clock::{Clock, SystemClock};
use orrery_store::Store;
use orrery_store::test_support::TestDatabase;
use orrery_testkit::{BinaryServer, eventually_async};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_orrery");
const SAFETY: Duration = Duration::from_secs(60);

/// Every second, catching up every missed fire after a failover.
const TICK: &str = "name: tick
schedule:
  every: 1s
  misfire: run_all
  max_catchup: 100
tasks:
  - {name: t, type: noop}
";

/// One `orrery server` node on the shared database.
struct Node {
    server: BinaryServer,
    data_dir: tempfile::TempDir,
}

impl Node {
    fn start(database: &str, name: &str) -> Node {
        Self::start_with(database, name, &[])
    }

    fn start_with(database: &str, name: &str, extra: &[&str]) -> Node {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut args = vec![
            "--database",
            database,
            "--node-name",
            name,
            "--lease-ttl",
            "1s",
            "--worker-ttl",
            "2s",
            "--heartbeat-interval",
            "300ms",
        ];
        args.extend_from_slice(extra);
        let server = BinaryServer::start_logging(BIN, data_dir.path(), &args, "info");
        Node { server, data_dir }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.server.id()).expect("pid"))
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        self.server.cli(args)
    }

    fn log(&self) -> String {
        self.server.log()
    }
}

/// A child leading its own process group, killed with the whole group when dropped
/// (also when the test fails).
struct ProcessGroup(Child);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// The node name of the lease's holder (holders are `name#nonce`).
async fn leader(store: &Store) -> Option<String> {
    let lease = store.lease("scheduler").await.ok()??;
    (lease.expires_at > lease.db_now).then(|| {
        lease
            .holder
            .split('#')
            .next()
            .unwrap_or_default()
            .to_owned()
    })
}

async fn wait_for_leader(store: &Store, name: &str) {
    eventually_async(&format!("{name} to lead"), SAFETY, || async {
        (leader(store).await.as_deref() == Some(name)).then_some(())
    })
    .await;
}

/// Every run of `tick`: logical date, state and creation time.
async fn runs(database: &str) -> Vec<(DateTime<Utc>, String, DateTime<Utc>)> {
    let pool = sqlx::PgPool::connect(database).await.expect("connect");
    let rows: Vec<(DateTime<Utc>, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT r.logical_date, r.state, r.created_at FROM runs r JOIN jobs j ON j.id = r.job_id \
         WHERE j.name = 'tick' AND r.logical_date IS NOT NULL ORDER BY r.logical_date",
    )
    .fetch_all(&pool)
    .await
    .expect("read runs");
    pool.close().await;
    rows
}

/// Exactly one run per second from the first to the last, all ended.
async fn assert_one_run_per_fire(database: &str) -> usize {
    let rows = eventually_async("every run to end", SAFETY, || async {
        let rows = runs(database).await;
        rows.iter()
            .all(|(_, state, _)| matches!(state.as_str(), "success" | "failed" | "cancelled"))
            .then_some(rows)
    })
    .await;
    for pair in rows.windows(2) {
        assert_eq!(
            (pair[1].0 - pair[0].0).num_seconds(),
            1,
            "a fire was lost or doubled between {} and {}",
            pair[0].0,
            pair[1].0
        );
    }
    // The job is paused at the end: a run made ahead of that moment (the fire lead)
    // is cancelled instead of running.
    let (last, earlier) = rows.split_last().expect("runs");
    assert!(
        earlier.iter().all(|(_, state, _)| state == "success")
            && matches!(last.1.as_str(), "success" | "cancelled"),
        "{rows:?}"
    );
    rows.len()
}

async fn setup() -> Option<(TestDatabase, Store)> {
    let database = TestDatabase::create()
        .await
        .expect("create a test database")?;
    let store = Store::connect(database.url()).await.expect("connect");
    Some((database, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_from_a_killed_leader_and_every_fire_runs_once() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = database.url().to_owned();
    let a = Node::start(&url, "node-a");
    wait_for_leader(&store, "node-a").await;
    let b = Node::start(&url, "node-b");
    let spec = a.data_dir.path().join("tick.yaml");
    std::fs::write(&spec, TICK).expect("spec");
    let out = a.cli(&["apply", "-f", path(&spec)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually_async("a few fires", SAFETY, || async {
        (runs(&url).await.len() >= 3).then_some(())
    })
    .await;

    a.server.kill();
    let killed_at = store
        .lease("scheduler")
        .await
        .ok()
        .flatten()
        .map(|l| l.db_now);
    wait_for_leader(&store, "node-b").await;
    let before = runs(&url).await.len();
    eventually_async("the new leader to fire", SAFETY, || async {
        (runs(&url).await.len() >= before + 3).then_some(())
    })
    .await;
    if let (Some(killed_at), Some(first)) = (
        killed_at,
        runs(&url)
            .await
            .iter()
            .map(|(_, _, created)| *created)
            .filter(|created| Some(*created) > killed_at)
            .min(),
    ) {
        eprintln!(
            "failover: first fire by the new leader {} ms after the kill",
            (first - killed_at).num_milliseconds()
        );
    }
    let stopped = b.cli(&["job", "pause", "tick"]);
    assert!(stopped.status.success());
    let n = assert_one_run_per_fire(&url).await;
    assert!(n >= 6, "{n} runs");
    b.server.stop();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_is_deposed_and_changes_nothing() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = database.url().to_owned();
    let a = Node::start(&url, "node-a");
    wait_for_leader(&store, "node-a").await;
    let b = Node::start(&url, "node-b");
    let spec = a.data_dir.path().join("tick.yaml");
    std::fs::write(&spec, TICK).expect("spec");
    assert!(a.cli(&["apply", "-f", path(&spec)]).status.success());
    eventually_async("a few fires", SAFETY, || async {
        (runs(&url).await.len() >= 3).then_some(())
    })
    .await;

    kill(a.pid(), Signal::SIGSTOP).expect("pause the leader");
    wait_for_leader(&store, "node-b").await;
    let epoch_b = store
        .lease("scheduler")
        .await
        .expect("lease")
        .expect("held")
        .epoch;
    kill(a.pid(), Signal::SIGCONT).expect("resume the old leader");
    // The old leader wakes up believing it leads: its writes are fenced off, it
    // notices and stands by, and b keeps the lease.
    eventually_async("the old leader to stand down", SAFETY, || async {
        a.log().contains("standing by").then_some(())
    })
    .await;
    let lease = store
        .lease("scheduler")
        .await
        .expect("lease")
        .expect("held");
    assert_eq!(
        (lease.holder.split('#').next(), lease.epoch),
        (Some("node-b"), epoch_b)
    );
    let before = runs(&url).await.len();
    eventually_async("fires to go on", SAFETY, || async {
        (runs(&url).await.len() >= before + 2).then_some(())
    })
    .await;
    assert!(b.cli(&["job", "pause", "tick"]).status.success());
    assert_one_run_per_fire(&url).await;
    drop((a, b));
    store.close().await;
}

fn path(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_clock_is_five_minutes_ahead_fires_on_the_database_s_time() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    if Command::new("faketime").arg("--version").output().is_err() {
        eprintln!("SKIPPED: faketime is not installed");
        return;
    }
    let url = database.url().to_owned();
    let data_dir = tempfile::tempdir().expect("tempdir");
    let log = std::fs::File::create(data_dir.path().join("server.log")).expect("log");
    let skewed = Command::new("faketime")
        .args(["-f", "+300s", BIN])
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .args(["--database", &url, "--node-name", "skewed"])
        .arg("--data-dir")
        .arg(data_dir.path())
        // Only the wall clock is off; timers keep real time.
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("ORRERY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        // faketime runs the server as its child: kill them as a group, or the server
        // outlives the test.
        .process_group(0)
        .spawn()
        .expect("spawn a skewed server");
    let skewed = ProcessGroup(skewed);
    wait_for_leader(&store, "skewed").await;
    let spec = data_dir.path().join("tick.yaml");
    std::fs::write(&spec, TICK).expect("spec");
    let applied = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["apply", "-f", path(&spec)])
        .env_remove("ORRERY_SERVER")
        .env_remove("ORRERY_TOKEN")
        .output()
        .expect("apply");
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    eventually_async("a few fires", SAFETY, || async {
        (runs(&url).await.len() >= 3).then_some(())
    })
    .await;
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let db_now: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .expect("now");
    let latest = runs(&url)
        .await
        .iter()
        .map(|(logical, _, _)| *logical)
        .max()
        .expect("runs");
    let ahead = (latest - db_now).num_seconds();
    assert!(
        (-5..=2).contains(&ahead),
        "the latest fire is {ahead} s from the database's now: fires follow the node's wrong clock"
    );
    pool.close().await;
    drop(skewed);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_only_node_takes_intents_that_the_leader_carries_out() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = database.url().to_owned();
    let leader_node = Node::start(&url, "full");
    wait_for_leader(&store, "full").await;
    let api = Node::start_with(&url, "front", &["--roles", "api"]);
    let out = eventually_async("the API node to answer", SAFETY, || async {
        let out = api.cli(&["apply", "-f", "examples/hello.yaml"]);
        out.status.success().then_some(out)
    })
    .await;
    assert!(out.status.success());
    let run = api.cli(&["run", "start", "hello", "--wait", "-o", "json"]);
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(run["state"], "success");
    let status = api.cli(&["cluster", "status", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    let nodes = status["nodes"].as_array().expect("nodes");
    let front = nodes
        .iter()
        .find(|n| n["name"] == "front")
        .expect("the API node is listed");
    assert_eq!(front["roles"], serde_json::json!(["api"]));
    assert_eq!(front["state"], "standby");
    assert!(
        nodes
            .iter()
            .any(|n| n["name"] == "full" && n["state"] == "leader")
    );
    drop((leader_node, api));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_given_only_a_standby_follows_it_to_the_leader() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = database.url().to_owned();
    let leader_node = Node::start_with(&url, "lead", &["--roles", "api,scheduler"]);
    wait_for_leader(&store, "lead").await;
    let standby = Node::start_with(&url, "stand", &["--roles", "api,scheduler"]);
    let standby_grpc = eventually_async("the standby to report its gateway", SAFETY, || async {
        let nodes = store.cluster_nodes().await.ok()?;
        nodes
            .into_iter()
            .find(|n| n.name == "stand")
            .and_then(|n| n.grpc_address)
    })
    .await;
    let secret = "follow-the-leader-token";
    store
        .create_token("followers", "worker", secret, SystemClock.now())
        .await
        .expect("token");
    let work = tempfile::tempdir().expect("work dir");
    let mut worker = Command::new(BIN)
        .args(["worker", "--scheduler", &format!("http://{standby_grpc}")])
        .args(["--token", secret, "--name", "follower", "--work-dir"])
        .arg(work.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a worker");
    let applied = standby.cli(&["apply", "-f", "examples/hello.yaml"]);
    assert!(applied.status.success());
    let run = standby.cli(&["run", "start", "hello", "--wait", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(run["tasks"][0]["worker"], "follower");
    let _ = worker.kill();
    let _ = worker.wait();
    drop((leader_node, standby));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_only_node_joins_the_cluster_s_scheduler() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = database.url().to_owned();
    let lead = Node::start_with(&url, "sched", &["--roles", "api,scheduler"]);
    wait_for_leader(&store, "sched").await;
    let worker = Node::start_with(&url, "runner", &["--roles", "worker"]);
    let applied = eventually_async("the API to answer", SAFETY, || async {
        let out = lead.cli(&["apply", "-f", "examples/hello.yaml"]);
        out.status.success().then_some(out)
    })
    .await;
    assert!(applied.status.success());
    let run = lead.cli(&["run", "start", "hello", "--wait", "-o", "json"]);
    let run: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(run["state"], "success", "{run}");
    assert!(
        run["tasks"][0]["worker_id"].is_string(),
        "run by the worker node: {run}"
    );
    drop((lead, worker));
    store.close().await;
}

/// Notifications queued by a leader that dies before its receiver acknowledges them
/// are delivered by the next leader from the outbox: every one arrives, and none is
/// acknowledged under two keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_notifications_survive_the_leader_and_arrive_once_each() {
    let Some((database, store)) = setup().await else {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    };
    const JOBS: usize = 8;
    // The receiver refuses the first JOBS messages (each is retried in 5 s), then
    // takes everything.
    let refusals: Vec<(u16, &str)> = std::iter::repeat_n((503, "busy"), JOBS)
        .chain(std::iter::once((200, "ok")))
        .collect();
    let hook = orrery_testkit::AlertReceiver::start(orrery_testkit::Vendor::Plain, refusals).await;
    let url = database.url().to_owned();
    let a = Node::start(&url, "node-a");
    wait_for_leader(&store, "node-a").await;
    let b = Node::start(&url, "node-b");
    let mut specs = format!(
        "kind: Receiver\nname: hook\nwebhook: {{url: \"{}/h\"}}\n---\nkind: AlertRoute\nname: default\nroute: {{receiver: hook, group_by: [job], group_wait: 0s}}\n",
        hook.url
    );
    for n in 0..JOBS {
        specs.push_str(&format!(
            "---\nname: fails-{n}\ntasks:\n  - {{name: a, type: shell, script: \"exit 1\"}}\n"
        ));
    }
    let file = a.data_dir.path().join("alerts.yaml");
    std::fs::write(&file, specs).expect("spec");
    let out = a.cli(&["apply", "-f", path(&file)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in 0..JOBS {
        let out = a.cli(&["run", "start", &format!("fails-{n}")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Every message was tried once and refused: all are pending in the outbox.
    eventually_async("every message tried once", SAFETY, || async {
        (hook.received().len() >= JOBS).then_some(())
    })
    .await;
    a.server.kill();
    wait_for_leader(&store, "node-b").await;

    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    let keys: Vec<(String, String)> =
        eventually_async("every notification sent", SAFETY, || async {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT dedup_key, state FROM notifications ORDER BY id")
                    .fetch_all(&pool)
                    .await
                    .ok()?;
            (rows.len() > JOBS && rows.iter().all(|(_, state)| state == "sent")).then_some(rows)
        })
        .await;
    pool.close().await;
    // One per failed job, and the new leader's own LeaderChanged.
    assert_eq!(keys.len(), JOBS + 1, "{keys:?}");
    let received = hook.received();
    let mut acknowledged: Vec<String> = received
        .iter()
        .skip(JOBS)
        .filter_map(|r| r.headers.get("idempotency-key").cloned())
        .collect();
    acknowledged.sort();
    let before = acknowledged.len();
    acknowledged.dedup();
    let mut expected: Vec<String> = keys.into_iter().map(|(key, _)| key).collect();
    expected.sort();
    assert_eq!(acknowledged, expected, "every notification arrived");
    assert_eq!(before, JOBS + 1, "none was sent again once acknowledged");
    assert!(
        received
            .iter()
            .any(|r| r.json()["commonLabels"]["alertname"] == "LeaderChanged"),
        "the new leader says so"
    );
    drop(b);
    store.close().await;
}
