//! Scheduling under a manual clock: downtime misfires per policy, calendar
//! exclusions, backfills and bad schedule input, without waiting for real time.

use chrono::{DateTime, Utc};
use orrery_client::ClientError;
use orrery_client::types::{BackfillRequest, Occurrence};
use orrery_testkit::{TestServer, eventually_async, wait_for_run_end};
use std::time::Duration;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

async fn ledger_with(server: &TestServer, job: &str, n: usize) -> Vec<Occurrence> {
    eventually_async(
        &format!("{n} ledger entries of {job}"),
        Duration::from_secs(20),
        || async {
            let mut entries = server.client.occurrences(job, 1000).await.ok()?;
            entries.reverse();
            (entries.len() >= n).then_some(entries)
        },
    )
    .await
}

fn outcomes(entries: &[Occurrence]) -> Vec<(String, &str)> {
    entries
        .iter()
        .map(|o| (o.nominal_at.format("%H:%M").to_string(), o.outcome.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hours_of_downtime_follow_each_misfire_policy() {
    let (server, clock) = TestServer::start_manual(utc("2026-03-01T00:00:30Z")).await;
    for policy in ["skip", "run_once", "run_all"] {
        let name = policy.replace('_', "-");
        server
            .apply(&format!(
                "name: hourly-{name}\nschedule: {{cron: '0 * * * *', misfire: {policy}}}\ntasks:\n  - {{name: t, type: noop}}\n"
            ))
            .await;
    }
    eventually_async(
        "the timers to be armed",
        Duration::from_secs(10),
        || async {
            let jobs = server.client.list_jobs().await.ok()?;
            jobs.iter()
                .all(|j| j.next_fire_at == Some(utc("2026-03-01T01:00:00Z")))
                .then_some(())
        },
    )
    .await;
    // Down from 00:00:30 to 03:00:03: the 01:00, 02:00 and 03:00 fires are missed,
    // 03:00 by less than the misfire threshold (5 s by default), so it simply runs late.
    let server = server
        .restart_after(|| clock.advance(chrono::Duration::seconds(3 * 3600 - 27)))
        .await;
    let skip = ledger_with(&server, "hourly-skip", 3).await;
    assert_eq!(
        outcomes(&skip),
        vec![
            ("01:00".into(), "missed"),
            ("02:00".into(), "missed"),
            ("03:00".into(), "fired")
        ]
    );
    assert!(
        skip[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("misfire policy skip"),
        "{skip:?}"
    );
    let once = ledger_with(&server, "hourly-run-once", 3).await;
    assert_eq!(
        outcomes(&once),
        vec![
            ("01:00".into(), "missed"),
            ("02:00".into(), "fired"),
            ("03:00".into(), "fired")
        ]
    );
    let all = ledger_with(&server, "hourly-run-all", 3).await;
    assert_eq!(
        outcomes(&all),
        vec![
            ("01:00".into(), "fired"),
            ("02:00".into(), "fired"),
            ("03:00".into(), "fired")
        ]
    );
    for entry in &all {
        let run = wait_for_run_end(
            &server.client,
            entry.run_id.expect("run"),
            Duration::from_secs(20),
        )
        .await;
        assert_eq!(run.state, "success", "{run:#?}");
    }
    let job = server.client.get_job("hourly-run-all").await.expect("job");
    assert_eq!(job.summary.next_fire_at, Some(utc("2026-03-01T04:00:00Z")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_on_a_calendar_date_is_recorded_as_excluded() {
    let (server, clock) = TestServer::start_manual(utc("2026-03-01T12:00:00Z")).await;
    server
        .apply("kind: Calendar\nname: holidays\ndates: ['2026-03-02', {from: '2026-03-10', to: '2026-03-12'}]\n")
        .await;
    server
        .apply("name: daily\nschedule: {cron: '@daily', exclude: [holidays]}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    eventually_async("the timer to be armed", Duration::from_secs(10), || async {
        let job = server.client.get_job("daily").await.ok()?;
        (job.summary.next_fire_at == Some(utc("2026-03-02T00:00:00Z"))).then_some(())
    })
    .await;
    clock.advance(chrono::Duration::hours(12));
    ledger_with(&server, "daily", 1).await;
    clock.advance(chrono::Duration::days(1));
    let entries = ledger_with(&server, "daily", 2).await;
    assert_eq!(entries[0].outcome, "excluded");
    assert!(
        entries[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("holidays"),
        "{entries:?}"
    );
    assert_eq!(
        (entries[1].outcome.as_str(), entries[1].nominal_at),
        ("fired", utc("2026-03-03T00:00:00Z"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluding_an_unknown_calendar_is_refused_at_apply() {
    let server = TestServer::start().await;
    let error = server
        .client
        .apply("name: d\nschedule: {cron: '@daily', exclude: [nope]}\ntasks:\n  - {name: t, type: noop}\n", "yaml")
        .await
        .expect_err("refused");
    let problem = error.problem().expect("problem");
    assert_eq!(
        problem.errors.first().map(|e| e.path.as_str()),
        Some("schedule.exclude[0]")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_creates_one_run_per_fire_once_and_paces_them() {
    let server = TestServer::start().await;
    server
        .apply(
            "name: nightly\nschedule: {cron: '0 0 * * *', paused: true}\ntasks:\n  - {name: t, type: shell, script: 'echo $ORRERY_RUN_ID; sleep 0.3'}\n",
        )
        .await;
    let request = BackfillRequest {
        from: utc("2026-01-01T00:00:00Z"),
        to: utc("2026-01-05T00:00:00Z"),
        parallelism: Some(2),
        rerun_failed: false,
        project: None,
    };
    let first = server
        .client
        .backfill("nightly", &request)
        .await
        .expect("backfill");
    assert_eq!((first.fires, first.created, first.existing), (5, 5, 0));
    let again = server
        .client
        .backfill("nightly", &request)
        .await
        .expect("backfill again");
    assert_eq!(
        (
            again.fires,
            again.created,
            again.existing,
            again.backfill_id
        ),
        (5, 0, 5, None)
    );
    let mut spans = Vec::new();
    for id in &first.run_ids {
        let run = wait_for_run_end(&server.client, *id, Duration::from_secs(30)).await;
        assert_eq!(
            (run.state.as_str(), run.trigger.as_str()),
            ("success", "backfill")
        );
        spans.push((
            run.started_at.expect("started"),
            run.finished_at.expect("finished"),
        ));
    }
    for (start, _) in &spans {
        let overlapping = spans
            .iter()
            .filter(|(s, f)| s <= start && start < f)
            .count();
        assert!(
            overlapping <= 2,
            "more than 2 backfill runs at once: {spans:?}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedules_and_backfills_are_refused_with_their_field() {
    let server = TestServer::start().await;
    for (schedule, path, needle) in [
        ("{cron: '0 0 32 * *'}", "schedule.cron", "day-of-month"),
        (
            "{cron: '@daily', timezone: Mars/Olympus}",
            "schedule.timezone",
            "Mars/Olympus",
        ),
        ("{every: 0s}", "schedule.every", ""),
        ("{cron: '@daily', every: 1h}", "schedule", ""),
        (
            "{every: 1h, start: '2026-02-01T00:00:00Z', end: '2026-01-01T00:00:00Z'}",
            "schedule.end",
            "",
        ),
    ] {
        let spec =
            format!("name: bad\nschedule: {schedule}\ntasks:\n  - {{name: t, type: noop}}\n");
        let error = server
            .client
            .apply(&spec, "yaml")
            .await
            .expect_err(schedule);
        let problem = error
            .problem()
            .unwrap_or_else(|| panic!("{schedule}: {error}"));
        assert_eq!(problem.status, 422, "{schedule}");
        let hit = problem.errors.iter().find(|e| e.path.starts_with(path));
        let hit = hit.unwrap_or_else(|| panic!("{schedule}: no error at {path}: {problem:?}"));
        assert!(hit.message.contains(needle), "{schedule}: {hit:?}");
    }
    assert!(
        server.client.list_jobs().await.expect("jobs").is_empty(),
        "nothing half-created"
    );

    server.apply("name: minutely\nschedule: {cron: '* * * * *', paused: true}\ntasks:\n  - {name: t, type: noop}\n").await;
    let backwards = BackfillRequest {
        from: utc("2026-01-02T00:00:00Z"),
        to: utc("2026-01-01T00:00:00Z"),
        parallelism: None,
        rerun_failed: false,
        project: None,
    };
    let error = server
        .client
        .backfill("minutely", &backwards)
        .await
        .expect_err("backwards");
    assert_eq!(error.problem().map(|p| p.status), Some(400));
    let huge = BackfillRequest {
        from: utc("2026-01-01T00:00:00Z"),
        to: utc("2026-03-01T00:00:00Z"),
        parallelism: None,
        rerun_failed: false,
        project: None,
    };
    match server.client.backfill("minutely", &huge).await {
        Err(ClientError::Api(problem)) => {
            assert_eq!(problem.code, "backfill_too_large");
            assert!(problem.detail.contains("10000"), "{problem:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let runs = server
        .client
        .list_runs(&Default::default())
        .await
        .expect("runs");
    assert!(runs.items.is_empty(), "a refused backfill creates nothing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_with_rerun_failed_reruns_only_the_failed_dates() {
    let server = TestServer::start().await;
    // Fails on 2 January only.
    server
        .apply(
            r#"
name: picky
schedule: {cron: '0 0 * * *', paused: true}
tasks:
  - name: t
    type: shell
    script: test "{{ logical_date | date('%d') }}" != 02
"#,
        )
        .await;
    let mut request = BackfillRequest {
        from: utc("2026-01-01T00:00:00Z"),
        to: utc("2026-01-03T00:00:00Z"),
        parallelism: Some(3),
        rerun_failed: false,
        project: None,
    };
    let first = server
        .client
        .backfill("picky", &request)
        .await
        .expect("backfill");
    let mut states = Vec::new();
    for id in &first.run_ids {
        states.push(
            wait_for_run_end(&server.client, *id, Duration::from_secs(30))
                .await
                .state,
        );
    }
    assert_eq!(states, vec!["success", "failed", "success"]);
    request.rerun_failed = true;
    let rerun = server
        .client
        .backfill("picky", &request)
        .await
        .expect("rerun");
    assert_eq!((rerun.created, rerun.existing), (1, 2), "{rerun:?}");
    let run = server.client.get_run(rerun.run_ids[0]).await.expect("run");
    assert_eq!(run.rerun_of, Some(first.run_ids[1]));
    assert_eq!(run.logical_date, Some(utc("2026-01-02T00:00:00Z")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_skips_and_records_excluded_dates() {
    let server = TestServer::start().await;
    server
        .apply("kind: Calendar\nname: festival\ndates: [{from: '2026-02-16', to: '2026-02-18'}]\n")
        .await;
    server
        .apply("name: settle\nschedule: {cron: '@daily', paused: true, exclude: [festival]}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    let result = server
        .client
        .backfill(
            "settle",
            &BackfillRequest {
                from: utc("2026-02-15T00:00:00Z"),
                to: utc("2026-02-19T00:00:00Z"),
                parallelism: Some(5),
                rerun_failed: false,
                project: None,
            },
        )
        .await
        .expect("backfill");
    assert_eq!((result.fires, result.created, result.excluded), (5, 2, 3));
    let mut dates = Vec::new();
    for id in &result.run_ids {
        let run = wait_for_run_end(&server.client, *id, Duration::from_secs(20)).await;
        dates.push(run.logical_date.expect("logical date"));
    }
    dates.sort();
    assert_eq!(
        dates,
        vec![utc("2026-02-15T00:00:00Z"), utc("2026-02-19T00:00:00Z")]
    );
    let entries = ledger_with(&server, "settle", 3).await;
    let excluded: Vec<DateTime<Utc>> = entries
        .iter()
        .filter(|e| e.outcome == "excluded")
        .map(|e| e.nominal_at)
        .collect();
    assert_eq!(
        excluded,
        vec![
            utc("2026-02-16T00:00:00Z"),
            utc("2026-02-17T00:00:00Z"),
            utc("2026-02-18T00:00:00Z")
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_run_of_a_scheduled_job_takes_the_latest_due_fire_as_logical_date() {
    let (server, _clock) = TestServer::start_manual(utc("2026-03-05T09:15:00Z")).await;
    server
        .apply("name: nightly\nschedule: {cron: '0 30 2 * * *', paused: true}\ntasks:\n  - name: t\n    type: shell\n    script: echo \"{{ data_interval_start | date('%Y-%m-%d') }}..{{ logical_date | date('%Y-%m-%d') }}\"\n")
        .await;
    let run = server
        .client
        .start_run("nightly", &Default::default())
        .await
        .expect("start");
    assert_eq!(run.logical_date, Some(utc("2026-03-05T02:30:00Z")));
    assert_eq!(run.data_interval_start, Some(utc("2026-03-04T02:30:00Z")));
    let run = wait_for_run_end(&server.client, run.id, Duration::from_secs(20)).await;
    assert_eq!(run.state, "success", "{run:#?}");
    let logs = server
        .client
        .logs(run.id, Some("t"), None)
        .await
        .expect("logs");
    assert_eq!(logs[0].text, "2026-03-04..2026-03-05");
    // A second manual run of the same fire is allowed: manual runs are outside the
    // one-run-per-fire key. A date given by hand is taken as is.
    let again = server
        .client
        .start_run(
            "nightly",
            &orrery_client::types::StartRunRequest {
                logical_date: Some(utc("2026-01-01T02:30:00Z")),
                ..Default::default()
            },
        )
        .await
        .expect("a second manual run");
    assert_eq!(again.logical_date, Some(utc("2026-01-01T02:30:00Z")));
    let same = server
        .client
        .start_run("nightly", &Default::default())
        .await
        .expect("a third manual run of the same fire");
    assert_eq!(same.logical_date, run.logical_date);
    server.stop().await;
}

fn outcomes_by_second(entries: &[Occurrence]) -> Vec<(String, &str)> {
    entries
        .iter()
        .map(|o| (o.nominal_at.format("%M:%S").to_string(), o.outcome.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downtime_past_the_threshold_runs_once_not_in_a_burst() {
    let (server, clock) = TestServer::start_manual(utc("2026-03-01T00:00:00Z")).await;
    server
        .apply("name: burst\nschedule: {every: 10s, start: '2026-03-01T00:00:00Z'}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    server
        .apply("name: tolerant\nschedule: {every: 10s, start: '2026-03-01T00:00:00Z', misfire_threshold: 2m}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    eventually_async(
        "the timers to be armed",
        Duration::from_secs(10),
        || async {
            let jobs = server.client.list_jobs().await.ok()?;
            (jobs.len() == 2
                && jobs
                    .iter()
                    .all(|j| j.next_fire_at == Some(utc("2026-03-01T00:00:10Z"))))
            .then_some(())
        },
    )
    .await;
    // Down for 66 s: the fires at :10 … :60 are all more than 5 s late.
    let server = server
        .restart_after(|| clock.advance(chrono::Duration::seconds(66)))
        .await;
    let burst = ledger_with(&server, "burst", 6).await;
    assert_eq!(
        outcomes_by_second(&burst),
        vec![
            ("00:10".into(), "missed"),
            ("00:20".into(), "missed"),
            ("00:30".into(), "missed"),
            ("00:40".into(), "missed"),
            ("00:50".into(), "missed"),
            ("01:00".into(), "fired"),
        ],
        "run_once runs only the latest late fire"
    );
    // Within its own 2-minute threshold, every fire simply runs late.
    let tolerant = ledger_with(&server, "tolerant", 6).await;
    assert!(
        tolerant.iter().all(|o| o.outcome == "fired"),
        "{tolerant:?}"
    );
    let job = server.client.get_job("tolerant").await.expect("job");
    assert_eq!(
        job.misfire.as_deref(),
        Some("run_once after 2m (the schedule's own)")
    );
    let job = server.client.get_job("burst").await.expect("job");
    assert_eq!(
        job.misfire.as_deref(),
        Some("run_once after 5s (the server's default)")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fires_of_a_paused_job_are_recorded_as_they_come_and_resume_runs_the_latest() {
    let (server, clock) = TestServer::start_manual(utc("2026-03-01T00:00:00Z")).await;
    server
        .apply("name: pausable\nschedule: {every: 10s, start: '2026-03-01T00:00:00Z'}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    eventually_async("the timer to be armed", Duration::from_secs(10), || async {
        let job = server.client.get_job("pausable").await.ok()?;
        (job.summary.next_fire_at == Some(utc("2026-03-01T00:00:10Z"))).then_some(())
    })
    .await;
    server
        .client
        .set_paused("pausable", true)
        .await
        .expect("pause");
    // Each fire is recorded `paused` when it comes due, before any resume.
    for (second, n) in [(10, 1), (20, 2), (30, 3)] {
        clock.advance(chrono::Duration::seconds(10));
        let entries = ledger_with(&server, "pausable", n).await;
        assert_eq!(entries.len(), n, "{entries:?}");
        assert!(entries.iter().all(|o| o.outcome == "paused"), "{entries:?}");
        assert_eq!(
            entries.last().map(|o| o.nominal_at),
            Some(utc(&format!("2026-03-01T00:00:{second}Z")))
        );
    }
    clock.advance(chrono::Duration::seconds(7));
    server
        .client
        .set_paused("pausable", false)
        .await
        .expect("resume");
    // At resume (00:37) the policy, run_once, runs the latest paused fire only.
    let entries = eventually_async(
        "the resume to be applied",
        Duration::from_secs(20),
        || async {
            let mut entries = server.client.occurrences("pausable", 100).await.ok()?;
            entries.reverse();
            entries
                .iter()
                .any(|o| o.outcome == "fired")
                .then_some(entries)
        },
    )
    .await;
    assert_eq!(
        outcomes_by_second(&entries),
        vec![
            ("00:10".into(), "paused"),
            ("00:20".into(), "paused"),
            ("00:30".into(), "fired"),
        ]
    );
    let runs = server
        .client
        .list_runs(&orrery_client::RunFilter {
            job: Some("pausable".to_owned()),
            ..Default::default()
        })
        .await
        .expect("runs");
    assert_eq!(runs.items.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfilled_first_fire_has_the_data_interval_of_a_live_one() {
    let server = TestServer::start().await;
    server
        .apply("name: from-start\nschedule: {cron: '@daily', start: '2026-02-15T00:00:00Z', paused: true}\ntasks:\n  - {name: t, type: noop}\n")
        .await;
    let result = server
        .client
        .backfill(
            "from-start",
            &BackfillRequest {
                from: utc("2026-02-15T00:00:00Z"),
                to: utc("2026-02-16T00:00:00Z"),
                parallelism: Some(2),
                rerun_failed: false,
                project: None,
            },
        )
        .await
        .expect("backfill");
    let mut intervals = Vec::new();
    for id in &result.run_ids {
        let run = server.client.get_run(*id).await.expect("run");
        intervals.push((run.data_interval_start, run.data_interval_end));
    }
    intervals.sort();
    // The schedule's first fire covers itself, as a live first fire does.
    assert_eq!(
        intervals,
        vec![
            (
                Some(utc("2026-02-15T00:00:00Z")),
                Some(utc("2026-02-15T00:00:00Z"))
            ),
            (
                Some(utc("2026-02-15T00:00:00Z")),
                Some(utc("2026-02-16T00:00:00Z"))
            ),
        ]
    );
    server.stop().await;
}
