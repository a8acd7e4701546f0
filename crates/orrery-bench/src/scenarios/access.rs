//! `access`: what authorization costs. The same reads (`GET /jobs/{name}`) and run
//! starts, made with the bootstrap admin token (one token lookup) and with a project
//! editor's personal token (the lookup plus the user's roles), side by side.

use crate::cli::Args;
use crate::harness::BenchServer;
use crate::measurement::Rows;
use crate::stats::{duration_ms, median, percentile};
use anyhow::Context;
use orrery_client::Client;
use orrery_client::types::{CreateTokenRequest, CreateUserRequest, SetMemberRequest};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

const SCENARIO: &str = "access";
const JOB: &str = "bench-access";
/// Sequential reads per caller (after as many again to warm up).
const READS: usize = 2000;
/// Concurrent clients starting runs.
const CLIENTS: u32 = 50;

pub(crate) async fn run(args: &Args) -> anyhow::Result<Vec<crate::measurement::Measurement>> {
    let slots = NonZeroU32::new(64).context("slots")?;
    let server = BenchServer::start(slots, args.run_wait()).await?;
    server
        .apply(&format!(
            "name: {JOB}\ntasks:\n  - {{name: t0, type: noop}}\n"
        ))
        .await?;
    let admin = server.client().clone();
    admin
        .create_user(&CreateUserRequest {
            name: "bench-editor".to_owned(),
            ..Default::default()
        })
        .await
        .context("create the user")?;
    admin
        .set_member(
            "default",
            &SetMemberRequest {
                user: Some("bench-editor".to_owned()),
                group: None,
                role: "editor".to_owned(),
            },
        )
        .await
        .context("make the user an editor")?;
    let token = admin
        .create_token_with(&CreateTokenRequest {
            name: "bench".to_owned(),
            user: Some("bench-editor".to_owned()),
            ..Default::default()
        })
        .await
        .context("create the personal token")?;
    let editor = Client::new(admin.base(), Some(token.secret));
    let budget = Duration::from_secs(u64::from(args.start_secs.get()));
    let mut measurements = Vec::new();
    // Alternated twice, so drift on a noisy machine hits both callers alike.
    for round in 1..=2 {
        for (label, client) in [
            ("admin token", &admin),
            ("editor's personal token", &editor),
        ] {
            let mut rows = Rows::new(SCENARIO, format!("{label}, round {round}"));
            let reads = read_latencies(client).await?;
            rows.add("read_p50", median(&reads), "ms");
            rows.add("read_p99", percentile(&reads, 99.0), "ms");
            let (count, elapsed, _) =
                super::run_starts::start_runs(client, JOB, CLIENTS, budget).await?;
            rows.add("starts", count as f64 / elapsed, "runs/s");
            measurements.extend(rows.into_vec());
        }
    }
    server.stop().await?;
    Ok(measurements)
}

async fn read_latencies(client: &Client) -> anyhow::Result<Vec<f64>> {
    let mut latencies = Vec::with_capacity(READS);
    for k in 0..READS * 2 {
        let sent = Instant::now();
        client.get_job(JOB).await.context("read the job")?;
        if k >= READS {
            latencies.push(duration_ms(sent.elapsed()));
        }
    }
    Ok(latencies)
}
