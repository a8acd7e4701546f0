//! Chaos: three scheduler nodes, two API-only nodes and two workers on one
//! PostgreSQL, every-second jobs with shell tasks, while a driver kills the leader,
//! pauses it past its lease, kills a worker and restarts PostgreSQL. Afterwards the
//! database must show exactly one run per job and second of the window, every run and
//! attempt ended, and the failover times are printed.
//!
//! Runs on its own PostgreSQL cluster (port 55433, started with `scripts/postgres`) so
//! restarting it disturbs no other test; skipped without `ORRERY_TEST_POSTGRES_URL`
//! (the sign that PostgreSQL is available). `ORRERY_CHAOS_SECS` (default 40) and
//! `ORRERY_CHAOS_JOBS` (default 40) size it.

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orrery_testkit::{eventually_async, repo_root};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_orrery");
const PG_PORT: &str = "55433";
const LEASE_TTL: Duration = Duration::from_secs(2);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts (or finds) the chaos PostgreSQL cluster and returns its admin URL.
fn chaos_postgres() -> String {
    let out = Command::new(repo_root().join("scripts/postgres"))
        .env("ORRERY_PG_PORT", PG_PORT)
        .output()
        .expect("run scripts/postgres");
    assert!(
        out.status.success(),
        "scripts/postgres: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn restart_postgres() {
    let dir = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(Result::ok)
        .map(|e| e.path().join("bin/pg_ctl"))
        .unwrap_or_else(|| "pg_ctl".into());
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(dir)
        .args([
            "-D",
            &format!("/tmp/orrery-pg-{PG_PORT}/data"),
            "restart",
            "-m",
            "fast",
            "-w",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("pg_ctl restart");
    assert!(status.success(), "PostgreSQL did not restart");
}

struct Proc {
    child: Option<Child>,
    args: Vec<String>,
    dir: std::path::PathBuf,
    name: String,
}

impl Proc {
    fn spawn(name: &str, args: Vec<String>, dir: &std::path::Path) -> Proc {
        let mut proc = Proc {
            child: None,
            args,
            dir: dir.to_owned(),
            name: name.to_owned(),
        };
        proc.start();
        proc
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", self.name)))
            .expect("log");
        self.child = Some(
            Command::new(BIN)
                .args(&self.args)
                .env("ORRERY_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn"),
        );
    }

    fn pid(&self) -> Option<Pid> {
        self.child
            .as_ref()
            .map(|c| Pid::from_raw(i32::try_from(c.id()).unwrap_or(i32::MAX)))
    }

    fn signal(&self, signal: Signal) {
        if let Some(pid) = self.pid() {
            let _ = kill(pid, signal);
        }
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.signal(Signal::SIGCONT);
        self.kill9();
    }
}

async fn leader(pool: &sqlx::PgPool) -> Option<(String, i64)> {
    sqlx::query_as::<_, (String, i64)>(
        "SELECT split_part(holder, '#', 1), epoch FROM leases WHERE name = 'scheduler' AND expires_at > now()",
    )
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
}

/// How long after `since` (database time) the first run was created: when a new
/// leader fired first. Waits for it.
async fn first_fire_after(pool: &sqlx::PgPool, since: DateTime<Utc>) -> Duration {
    let started = Instant::now();
    loop {
        let first: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT min(created_at) FROM runs WHERE created_at > $1")
                .bind(since)
                .fetch_one(pool)
                .await
                .ok()
                .flatten();
        if let Some(first) = first {
            return (first - since).to_std().unwrap_or_default();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no fire within 60 s after a failover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn db_now(pool: &sqlx::PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(pool)
        .await
        .expect("now")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fire_runs_once_through_leader_kills_pauses_worker_kills_and_database_restarts() {
    if std::env::var("ORRERY_TEST_POSTGRES_URL").is_err() {
        eprintln!("SKIPPED: ORRERY_TEST_POSTGRES_URL is not set");
        return;
    }
    let secs = env_number("ORRERY_CHAOS_SECS", 40);
    let jobs = env_number("ORRERY_CHAOS_JOBS", 40);
    let admin = chaos_postgres();
    let admin_pool = sqlx::PgPool::connect(&admin).await.expect("admin connect");
    let db = format!("orrery_chaos_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&admin_pool)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin_pool)
        .await
        .expect("create");
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{db}"),
        None => panic!("unexpected admin URL {admin}"),
    };
    let work = tempfile::Builder::new()
        .prefix("orrery-chaos-")
        .tempdir()
        .expect("tempdir");
    eprintln!("chaos: logs in {}", work.path().display());

    // Three scheduler nodes (each also serves the API), no embedded worker.
    let mut nodes: Vec<Proc> = (1..=3)
        .map(|i| {
            let dir = work.path().join(format!("n{i}"));
            std::fs::create_dir_all(&dir).expect("dir");
            let args: Vec<String> = ["server", "--listen", "127.0.0.1:0", "--grpc-listen"]
                .iter()
                .map(|s| (*s).to_owned())
                .chain([
                    format!("127.0.0.1:{}", 57170 + i),
                    "--database".to_owned(),
                    url.clone(),
                    "--node-name".to_owned(),
                    format!("n{i}"),
                    "--roles".to_owned(),
                    "api,scheduler".to_owned(),
                    "--lease-ttl".to_owned(),
                    "2s".to_owned(),
                    "--worker-ttl".to_owned(),
                    "3s".to_owned(),
                    "--heartbeat-interval".to_owned(),
                    "500ms".to_owned(),
                    "--data-dir".to_owned(),
                    dir.display().to_string(),
                ])
                .collect();
            Proc::spawn(&format!("n{i}"), args, work.path())
        })
        .collect();
    // Two API-only nodes; the test's own requests go through the first.
    let _api_nodes: Vec<Proc> = (1..=2)
        .map(|i| {
            let dir = work.path().join(format!("a{i}"));
            std::fs::create_dir_all(&dir).expect("dir");
            let args = [
                "server",
                "--listen",
                "127.0.0.1:0",
                "--grpc-listen",
                "127.0.0.1:0",
                "--database",
                &url,
                "--node-name",
                &format!("a{i}"),
                "--roles",
                "api",
                "--data-dir",
                &dir.display().to_string(),
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            Proc::spawn(&format!("a{i}"), args, work.path())
        })
        .collect();
    let pool = sqlx::PgPool::connect(&url).await.expect("connect");
    eventually_async("a leader", Duration::from_secs(60), || async {
        leader(&pool).await
    })
    .await;
    let cli = |args: &[&str]| {
        Command::new(BIN)
            .arg("--data-dir")
            .arg(work.path().join("a1"))
            .args(args)
            .env_remove("ORRERY_SERVER")
            .env_remove("ORRERY_TOKEN")
            .output()
            .expect("cli")
    };
    let token = eventually_async("a worker token", Duration::from_secs(30), || async {
        let out = cli(&["token", "create", "--kind", "worker", "--name", "chaos"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })
    .await;
    let gateways = "http://127.0.0.1:57171,http://127.0.0.1:57172,http://127.0.0.1:57173";
    let mut workers: Vec<Proc> = (1..=2)
        .map(|i| {
            let dir = work.path().join(format!("w{i}"));
            let args = [
                "worker",
                "--scheduler",
                gateways,
                "--token",
                &token,
                "--name",
                &format!("w{i}"),
                "--slots",
                "16",
                "--work-dir",
                &dir.display().to_string(),
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            Proc::spawn(&format!("w{i}"), args, work.path())
        })
        .collect();
    let specs = work.path().join("specs");
    std::fs::create_dir_all(&specs).expect("specs");
    for j in 0..jobs {
        std::fs::write(
            specs.join(format!("c{j}.yaml")),
            format!(
                "name: c{j}\nschedule: {{every: 1s, misfire: run_all, max_catchup: 1000}}\ntasks:\n  - {{name: t, type: shell, script: 'true'}}\n"
            ),
        )
        .expect("spec");
    }
    let out = cli(&["apply", "-f", &specs.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let window_start = db_now(&pool).await;

    let mut failovers: Vec<Duration> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut round = 0;
    while Instant::now() < deadline {
        let action = round % 4;
        round += 1;
        let Some((leader_name, _)) = leader(&pool).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let index = nodes
            .iter()
            .position(|n| n.name == leader_name)
            .expect("the leader is one of the nodes");
        match action {
            0 => {
                eprintln!("chaos: kill -9 leader {leader_name}");
                let at = db_now(&pool).await;
                nodes[index].kill9();
                failovers.push(first_fire_after(&pool, at).await);
                nodes[index].start();
            }
            1 => {
                eprintln!("chaos: SIGSTOP leader {leader_name} past its lease");
                let at = db_now(&pool).await;
                nodes[index].signal(Signal::SIGSTOP);
                tokio::time::sleep(LEASE_TTL * 2).await;
                failovers.push(first_fire_after(&pool, at).await);
                nodes[index].signal(Signal::SIGCONT);
            }
            2 => {
                let w = round % 2;
                eprintln!("chaos: kill -9 worker w{}", w + 1);
                workers[w].kill9();
                tokio::time::sleep(Duration::from_secs(1)).await;
                workers[w].start();
            }
            _ => {
                eprintln!("chaos: restart PostgreSQL");
                restart_postgres();
            }
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    let window_end = db_now(&pool).await - chrono::Duration::seconds(2);

    // Every fire of the window has exactly one run, and everything ends.
    let unfinished = eventually_async("every run and attempt to end", Duration::from_secs(120), || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM runs WHERE state NOT IN ('success', 'failed', 'cancelled') AND logical_date <= $1",
        )
        .bind(window_end)
        .fetch_one(&pool)
        .await
        .ok()?;
        (open == 0).then_some(open)
    })
    .await;
    assert_eq!(unfinished, 0);
    let expected = (window_end - window_start).num_seconds();
    let per_job: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT j.name, count(r.id), count(DISTINCT r.logical_date) FROM jobs j \
         LEFT JOIN runs r ON r.job_id = j.id AND r.logical_date > $1 AND r.logical_date <= $2 \
         GROUP BY j.name ORDER BY j.name",
    )
    .bind(window_start)
    .bind(window_end)
    .fetch_all(&pool)
    .await
    .expect("count runs");
    for (job, runs, dates) in &per_job {
        assert_eq!(runs, dates, "job {job}: a logical date has two runs");
        assert!(
            (*runs - expected).abs() <= 1,
            "job {job}: {runs} runs for {expected} seconds of fires"
        );
    }
    let open_attempts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM task_instances t JOIN runs r ON r.id = t.run_id \
         WHERE r.logical_date <= $1 AND t.state NOT IN ('success', 'failed', 'timed_out', 'lost', 'cancelled', 'skipped', 'upstream_failed')",
    )
    .bind(window_end)
    .fetch_one(&pool)
    .await
    .expect("count attempts");
    assert_eq!(open_attempts, 0, "every attempt is accounted for");
    let total: i64 = per_job.iter().map(|(_, runs, _)| runs).sum();
    failovers.sort();
    let ms = |d: &Duration| d.as_millis();
    eprintln!(
        "chaos: {} jobs × {expected} s checked: {total} runs, one per fire; {} failovers, p50 {} ms, max {} ms",
        per_job.len(),
        failovers.len(),
        failovers.get(failovers.len() / 2).map_or(0, ms),
        failovers.last().map_or(0, ms),
    );
    drop(workers);
    drop(nodes);
    pool.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
    )))
    .execute(&admin_pool)
    .await;
}
