//! `alerts`: how fast the leader delivers its outbox to a local webhook (1,000
//! notifications due at once), and how many messages 1,000 failed runs of one job make
//! when alerts are grouped by job.

use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::{Measurement, Rows};
use crate::stats::median;
use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use std::fmt::Write;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCENARIO: &str = "alerts";
const SLOTS: u32 = 64;

/// Arrival instants of every message a local webhook received.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Arrivals {
    fn snapshot(&self) -> Vec<Instant> {
        self.0.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

async fn receive(State(arrivals): State<Arrivals>) -> &'static str {
    if let Ok(mut list) = arrivals.0.lock() {
        list.push(Instant::now());
    }
    "ok"
}

async fn start_receiver() -> anyhow::Result<(String, Arrivals)> {
    let arrivals = Arrivals::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("bind the webhook")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, arrivals))
}

pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<Measurement>> {
    let n = args.alert_groups.get();
    let mut rates = Vec::new();
    let mut messages = Vec::new();
    for _ in 0..args.repeat.get() {
        rates.push(delivery_rate(args, n).await?);
        messages.push(grouped_messages(args).await?);
    }
    let mut rows = Rows::new(SCENARIO, format!("{n} notifications due at once"));
    rows.add("delivery_rate", median(&rates), "notifications/s");
    let mut out = rows.into_vec();
    let runs = args.alert_runs.get();
    let mut rows = Rows::new(SCENARIO, format!("{runs} failed runs of one job"));
    rows.add("messages", median(&messages), "messages");
    out.extend(rows.into_vec());
    Ok(out)
}

/// One job with `n` failing tasks, grouped per task. The route is applied once every
/// alert fires, so all `n + 1` groups are made in one pass and flush together: the
/// webhook then times the outbox's delivery alone.
async fn delivery_rate(args: &Args, n: u32) -> anyhow::Result<f64> {
    let server =
        BenchServer::start(NonZeroU32::new(SLOTS).context("slots")?, args.run_wait()).await?;
    let (url, arrivals) = start_receiver().await?;
    server
        .apply(&format!(
            "kind: Receiver\nname: hook\nwebhook: {{url: \"{url}\"}}\n"
        ))
        .await?;
    let mut spec = String::from("name: bench-alert-groups\ntasks:\n");
    for i in 0..n {
        let _ = writeln!(spec, "  - {{name: t{i}, type: shell, script: \"exit 1\"}}");
    }
    server.apply(&spec).await?;
    let _ = server.run_to_end("bench-alert-groups").await;
    let began = Instant::now();
    let wanted = n.min(1000) as usize;
    while server
        .client()
        .list_alerts("default", Some("firing"), 1000)
        .await
        .context("list alerts")?
        .len()
        < wanted
    {
        if began.elapsed() > Duration::from_secs(120) {
            bail!("the alerts did not all fire");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
        .apply("kind: AlertRoute\nname: default\nroute: {receiver: hook, group_by: [job, task], group_wait: 0s}\n")
        .await?;
    // n task failures and the run's own failure.
    let expected = n as usize + 1;
    let began = Instant::now();
    loop {
        let got = arrivals.snapshot();
        if got.len() >= expected {
            let first = got.iter().min().copied().context("arrivals")?;
            let last = got.iter().max().copied().context("arrivals")?;
            let span = (last - first).as_secs_f64().max(1e-3);
            eprintln!("{SCENARIO}: {} messages in {span:.2} s", got.len());
            server.stop().await?;
            return Ok((got.len() - 1) as f64 / span);
        }
        if began.elapsed() > Duration::from_secs(120) {
            bail!("only {} of {expected} messages arrived", got.len());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `alert_runs` failed runs of one job, started as fast as the API takes them: with
/// alerts grouped by job, the messages that arrive until 10 s after the last run ended.
async fn grouped_messages(args: &Args) -> anyhow::Result<f64> {
    let server =
        BenchServer::start(NonZeroU32::new(SLOTS).context("slots")?, args.run_wait()).await?;
    let (url, arrivals) = start_receiver().await?;
    server
        .apply(&format!(
            "kind: Receiver\nname: hook\nwebhook: {{url: \"{url}\"}}\n"
        ))
        .await?;
    server
        .apply("kind: AlertRoute\nname: default\nroute: {receiver: hook, group_by: [job], group_wait: 2s, group_interval: 5s}\n")
        .await?;
    server
        .apply("name: bench-alert-fails\ntasks:\n  - {name: t, type: shell, script: \"exit 1\"}\n")
        .await?;
    let runs = args.alert_runs.get() as usize;
    let client = server.client().clone();
    let mut callers = tokio::task::JoinSet::new();
    for part in 0..10 {
        let client = client.clone();
        let share = runs / 10 + usize::from(part < runs % 10);
        callers.spawn(async move {
            for _ in 0..share {
                client
                    .start_run("bench-alert-fails", &Default::default())
                    .await
                    .context("start a run")?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = callers.join_next().await {
        joined.context("a client panicked")??;
    }
    let began = Instant::now();
    loop {
        let mut active = 0;
        for state in ["queued", "running"] {
            let filter = orrery_client::RunFilter {
                job: Some("bench-alert-fails".to_owned()),
                state: Some(state.to_owned()),
                limit: Some(1),
                ..Default::default()
            };
            active += client
                .list_runs(&filter)
                .await
                .context("list runs")?
                .items
                .len();
        }
        if active == 0 {
            break;
        }
        if began.elapsed() > Duration::from_secs(300) {
            bail!("the failing runs did not all end");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let count = arrivals.snapshot().len();
    eprintln!("{SCENARIO}: {runs} failed runs made {count} messages");
    server.stop().await?;
    Ok(count as f64)
}

/// Load for the lateness scenario: a webhook receiver and a route grouping by job,
/// then `runs` runs of a one-task shell job (failing when `fail`, so each raises
/// alerts) started evenly over `secs` seconds from `from`, on a task of their own.
/// Its result is how many were started.
pub(crate) async fn run_load(
    server: &BenchServer,
    runs: u32,
    fail: bool,
    from: chrono::DateTime<chrono::Utc>,
    secs: u32,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<u32>>> {
    let (url, _arrivals) = start_receiver().await?;
    server
        .apply(&format!(
            "kind: Receiver\nname: hook\nwebhook: {{url: \"{url}\"}}\n"
        ))
        .await?;
    server
        .apply("kind: AlertRoute\nname: default\nroute: {receiver: hook, group_by: [job]}\n")
        .await?;
    let exit = if fail { 1 } else { 0 };
    server
        .apply(&format!(
            "name: bench-alert-fails\ntasks:\n  - {{name: t, type: shell, script: \"exit {exit}\"}}\n"
        ))
        .await?;
    let client = server.client().clone();
    Ok(tokio::spawn(async move {
        crate::window::sleep_until(from).await;
        let per_second = runs.div_ceil(secs.max(1));
        let mut started = 0;
        let mut second = 0i64;
        while started < runs {
            for _ in 0..per_second.min(runs - started) {
                client
                    .start_run("bench-alert-fails", &Default::default())
                    .await
                    .context("start a failing run")?;
                started += 1;
            }
            second += 1;
            crate::window::sleep_until(from + chrono::TimeDelta::seconds(second)).await;
        }
        Ok(started)
    }))
}
