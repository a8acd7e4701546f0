//! Scheduled jobs on a real server in real time: fires happen once per nominal time,
//! survive a restart without duplicates or gaps, respect pause and concurrency, and
//! every fire is accounted for in the ledger.

use orrery_client::types::Occurrence;
use orrery_testkit::{TestServer, eventually_async};
use std::collections::BTreeSet;
use std::time::Duration;

async fn ledger(server: &TestServer, job: &str) -> Vec<Occurrence> {
    let mut entries = server
        .client
        .occurrences(job, 10_000)
        .await
        .expect("ledger");
    entries.reverse();
    entries
}

async fn wait_for_fires(server: &TestServer, job: &str, n: usize) -> Vec<Occurrence> {
    eventually_async(
        &format!("{n} fires of {job}"),
        Duration::from_secs(30),
        || async {
            let entries = ledger(server, job).await;
            (entries.len() >= n).then_some(entries)
        },
    )
    .await
}

fn assert_consecutive_seconds(entries: &[Occurrence]) {
    for pair in entries.windows(2) {
        let gap = pair[1].nominal_at - pair[0].nominal_at;
        assert_eq!(
            gap,
            chrono::Duration::seconds(1),
            "fires not one second apart: {pair:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_every_second_job_fires_once_per_second_with_its_logical_date() {
    let server = TestServer::start().await;
    server
        .apply(
            r#"
name: tick
schedule: {every: 1s}
tasks:
  - name: t
    type: shell
    script: echo "{{ logical_date | date('%H:%M:%S') }} $ORRERY_LOGICAL_DATE"
"#,
        )
        .await;
    let entries = wait_for_fires(&server, "tick", 3).await;
    assert_consecutive_seconds(&entries);
    assert!(
        entries
            .iter()
            .all(|o| o.outcome == "fired" && o.run_id.is_some()),
        "{entries:?}"
    );
    let run_id = entries[0].run_id.expect("run");
    let run =
        orrery_testkit::wait_for_run_end(&server.client, run_id, Duration::from_secs(20)).await;
    assert_eq!(
        (run.state.as_str(), run.trigger.as_str()),
        ("success", "schedule")
    );
    let runs = server
        .client
        .list_runs(&orrery_client::RunFilter {
            job: Some("tick".into()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .expect("runs");
    let ids: BTreeSet<i64> = runs.items.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), runs.items.len());
    let job = server.client.get_job("tick").await.expect("job");
    assert_eq!(job.summary.schedule.as_deref(), Some("every 1s"));
    assert!(job.summary.next_fire_at.is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_fires_neither_duplicates_nor_drops_a_fire() {
    let server = TestServer::start().await;
    server
        .apply("name: steady\nschedule: {every: 1s, misfire: run_all}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    wait_for_fires(&server, "steady", 2).await;
    let server = server.restart().await;
    let before = ledger(&server, "steady").await.len();
    let entries = wait_for_fires(&server, "steady", before + 3).await;
    assert_consecutive_seconds(&entries);
    let runs: Vec<i64> = entries.iter().filter_map(|o| o.run_id).collect();
    let unique: BTreeSet<i64> = runs.iter().copied().collect();
    assert_eq!(runs.len(), unique.len(), "one run per fire");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_job_does_not_fire_until_resumed() {
    let server = TestServer::start().await;
    server
        .apply("name: pausable\nschedule: {every: 1s, paused: true}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    let job = server.client.get_job("pausable").await.expect("job");
    assert!(job.summary.paused);
    server
        .client
        .set_paused("pausable", false)
        .await
        .expect("resume");
    let fired = wait_for_fires(&server, "pausable", 2).await;
    server
        .client
        .set_paused("pausable", true)
        .await
        .expect("pause");
    // Let any fire already in flight land, then check that nothing more runs.
    let settled = wait_for_fires(&server, "pausable", fired.len()).await.len();
    let job = server.client.get_job("pausable").await.expect("job");
    assert!(job.summary.paused);
    // The absence of fires can only be observed over time.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let entries = ledger(&server, "pausable").await;
    let ran = entries.iter().filter(|o| o.outcome == "fired").count();
    assert!(ran <= settled + 1, "{entries:?}");
    // Fires that came due meanwhile are recorded as paused, as they came.
    assert!(entries.iter().any(|o| o.outcome == "paused"), "{entries:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbid_skips_fires_while_a_run_is_active_and_says_so() {
    let server = TestServer::start().await;
    server
        .apply(
            "name: slowpoke\nschedule: {every: 1s, concurrency: forbid}\ntasks:\n  - {name: t, type: shell, script: 'sleep 2.5'}\n",
        )
        .await;
    let entries = eventually_async("a skipped fire", Duration::from_secs(30), || async {
        let entries = ledger(&server, "slowpoke").await;
        entries
            .iter()
            .any(|o| o.outcome == "skipped_overlap")
            .then_some(entries)
    })
    .await;
    let skipped = entries
        .iter()
        .find(|o| o.outcome == "skipped_overlap")
        .expect("skipped");
    assert!(skipped.run_id.is_none());
    assert!(
        skipped.reason.as_deref().unwrap_or("").contains("forbid"),
        "{skipped:?}"
    );
    let active = server
        .client
        .list_runs(&orrery_client::RunFilter {
            job: Some("slowpoke".into()),
            state: Some("running".into()),
            ..Default::default()
        })
        .await
        .expect("runs");
    assert!(
        active.items.len() <= 1,
        "never two runs at once under forbid"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_runs_fires_one_after_another() {
    let server = TestServer::start().await;
    server
        .apply(
            "name: queued\nschedule: {every: 1s, concurrency: queue}\ntasks:\n  - {name: t, type: shell, script: 'sleep 1.5'}\n",
        )
        .await;
    let entries = wait_for_fires(&server, "queued", 4).await;
    assert!(entries.iter().all(|o| o.outcome == "fired"), "{entries:?}");
    let runs = server
        .client
        .list_runs(&orrery_client::RunFilter {
            job: Some("queued".into()),
            state: Some("running".into()),
            ..Default::default()
        })
        .await
        .expect("runs");
    assert!(
        runs.items.len() <= 1,
        "queue runs one at a time: {:?}",
        runs.items
    );
    server.stop().await;
}
