//! Fires made ahead of their time (`fire_lead`): the run is stored and its first task
//! sent to the worker early, and the worker starts it on time, never before; a job
//! paused within the lead does not fire after all; jobs whose concurrency policy
//! depends on the fire instant fire at their time.

use chrono::{DateTime, SubsecRound, Utc};
use orrery_client::types::{Occurrence, Run};
use orrery_core::clock::{Clock, SystemClock};
use orrery_testkit::{TestServer, eventually_async, wait_for_run_end};
use std::time::Duration;

/// A server whose fires are made `lead` ahead.
async fn server_with_lead(lead: Duration) -> TestServer {
    TestServer::start_with(|config| config.fire_lead = lead).await
}

/// A whole second at least `ahead` from now, for a one-shot `at:` schedule.
fn fire_time(ahead: Duration) -> DateTime<Utc> {
    let ahead = chrono::Duration::from_std(ahead).unwrap_or_default();
    (SystemClock.now() + ahead).trunc_subsecs(0) + chrono::Duration::seconds(1)
}

fn one_shot(name: &str, at: DateTime<Utc>, extra: &str) -> String {
    format!(
        "name: {name}\nschedule: {{at: \"{}\"{extra}}}\ntasks:\n  - {{name: t, type: noop}}\n",
        at.to_rfc3339()
    )
}

/// The job's first ledger entry, once there is one.
async fn first_fire(server: &TestServer, job: &str) -> Occurrence {
    eventually_async(
        &format!("the fire of {job}"),
        Duration::from_secs(30),
        || async {
            let entries = server.client.occurrences(job, 10).await.expect("ledger");
            entries.into_iter().next()
        },
    )
    .await
}

async fn run_of(server: &TestServer, fire: &Occurrence) -> Run {
    let id = fire.run_id.expect("the fire made a run");
    wait_for_run_end(&server.client, id, Duration::from_secs(30)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_is_made_ahead_of_its_time_and_its_task_starts_on_time() {
    let server = server_with_lead(Duration::from_secs(2)).await;
    let at = fire_time(Duration::from_secs(4));
    server.apply(&one_shot("ahead", at, "")).await;
    let fire = first_fire(&server, "ahead").await;
    assert_eq!((fire.nominal_at, fire.outcome.as_str()), (at, "fired"));
    assert!(
        fire.recorded_at < at,
        "the fire was recorded at {}, not ahead of {at}",
        fire.recorded_at
    );
    let run = run_of(&server, &fire).await;
    assert_eq!(run.state, "success");
    assert_eq!(run.started_at, Some(at), "the run starts at its fire time");
    let started = run.tasks[0].started_at.expect("the task started");
    assert!(started >= at, "the task started at {started}, before {at}");
    assert!(
        run.lateness_ms.is_some_and(|late| late >= 0),
        "{:?}",
        run.lateness_ms
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_job_within_its_lead_cancels_the_run_made_ahead() {
    let server = server_with_lead(Duration::from_secs(3)).await;
    let at = fire_time(Duration::from_secs(5));
    server.apply(&one_shot("paused-late", at, "")).await;
    let fire = first_fire(&server, "paused-late").await;
    assert!(fire.recorded_at < at, "{fire:?}");
    server
        .client
        .set_paused("paused-late", true)
        .await
        .expect("pause");
    let run = run_of(&server, &fire).await;
    assert_eq!(run.state, "cancelled");
    assert_eq!(
        run.tasks[0].started_at, None,
        "the task held for its time never started"
    );
    // The ledger says why the fire did not happen, and keeps the cancelled run.
    let fire = first_fire(&server, "paused-late").await;
    assert_eq!(
        (fire.outcome.as_str(), fire.run_id),
        ("paused", Some(run.id))
    );
    assert!(
        fire.reason
            .as_deref()
            .is_some_and(|r| r.contains("paused or deleted before this fire time")),
        "{fire:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_forbids_overlap_fires_at_its_time_not_ahead() {
    let server = server_with_lead(Duration::from_secs(3)).await;
    let at = fire_time(Duration::from_secs(2));
    server
        .apply(&one_shot("exact", at, ", concurrency: forbid"))
        .await;
    let fire = first_fire(&server, "exact").await;
    assert!(
        fire.recorded_at >= at,
        "a forbid fire was decided at {}, ahead of {at}",
        fire.recorded_at
    );
    assert_eq!(run_of(&server, &fire).await.state, "success");
    server.stop().await;
}
