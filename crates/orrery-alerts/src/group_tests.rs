//! The router's timers, grouping, silences and inhibitions, on a manual timeline.

use super::*;
use crate::labels::{Matchers, labels};
use chrono::TimeDelta;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
}

fn alert(pairs: &[(&str, &str)], starts: i64) -> Alert {
    Alert::firing(
        labels(pairs.iter().copied()),
        Default::default(),
        at(starts),
    )
}

fn resolved(mut alert: Alert, when: i64) -> Alert {
    alert.resolved_at = Some(at(when));
    alert
}

/// Everything to `hook`, grouped by job, default timers (30s, 5m, 4h).
fn router(send_resolved: bool) -> Router {
    Router::new(
        Route {
            receiver: Some("hook".to_owned()),
            group_by: Some(vec!["job".to_owned()]),
            send_resolved: Some(send_resolved),
            ..Route::default()
        },
        Vec::new(),
    )
}

fn names(notification: &Notification) -> Vec<String> {
    notification
        .firing
        .iter()
        .map(|a| a.label("task").to_owned())
        .collect()
}

/// Flushes at each second from `from` to `to`, collecting what was sent.
fn run(router: &mut Router, silences: &[Silence], from: i64, to: i64) -> Vec<Notification> {
    (from..=to)
        .flat_map(|s| router.flush(silences, at(s)))
        .collect()
}

#[test]
fn task_failures_of_one_run_arrive_as_one_message_after_the_group_wait() {
    let mut router = router(false);
    let a = alert(
        &[("alertname", "TaskFailed"), ("job", "etl"), ("task", "a")],
        0,
    );
    let b = alert(
        &[("alertname", "TaskFailed"), ("job", "etl"), ("task", "b")],
        5,
    );
    router.ingest(&a, at(0));
    assert!(run(&mut router, &[], 0, 4).is_empty());
    router.ingest(&b, at(5));
    assert!(
        run(&mut router, &[], 5, 29).is_empty(),
        "nothing before group_wait"
    );
    let sent = run(&mut router, &[], 30, 30);
    assert_eq!(sent.len(), 1);
    assert_eq!(names(&sent[0]), ["a", "b"]);
    assert_eq!(sent[0].receiver, "hook");
    assert_eq!(sent[0].group_key.group_labels, labels([("job", "etl")]));
    assert_eq!(router.next_flush(), Some(at(330)));
}

#[test]
fn a_new_alert_waits_for_the_group_interval_and_an_unchanged_group_repeats() {
    let mut router = router(false);
    router.ingest(&alert(&[("job", "etl"), ("task", "a")], 0), at(0));
    assert_eq!(run(&mut router, &[], 0, 30).len(), 1);
    router.ingest(&alert(&[("job", "etl"), ("task", "c")], 60), at(60));
    assert!(run(&mut router, &[], 31, 329).is_empty());
    let sent = run(&mut router, &[], 330, 330);
    assert_eq!(
        names(&sent[0]),
        ["a", "c"],
        "the whole group, not only the new one"
    );
    // Unchanged: nothing until 4h after the last message, at an interval tick.
    let repeat = 330 + 4 * 3600;
    let mut quiet = router.clone();
    assert!(quiet.flush(&[], at(repeat - 1)).is_empty());
    let sent = router.flush(&[], at(repeat));
    assert_eq!(sent.len(), 1, "repeated");
    assert!(
        sent[0].dedup_key.ends_with("#3"),
        "a fresh key per message: {}",
        sent[0].dedup_key
    );
}

#[test]
fn resolutions_are_sent_only_where_the_route_asks_and_empty_groups_go() {
    for send_resolved in [true, false] {
        let mut router = router(send_resolved);
        let a = alert(&[("job", "etl"), ("task", "a")], 0);
        router.ingest(&a, at(0));
        assert_eq!(router.flush(&[], at(30)).len(), 1);
        router.ingest(&resolved(a.clone(), 100), at(100));
        let sent = router.flush(&[], at(330));
        if send_resolved {
            assert_eq!(sent.len(), 1);
            assert!(sent[0].firing.is_empty());
            assert_eq!(sent[0].resolved.len(), 1);
        } else {
            assert!(sent.is_empty());
        }
        assert_eq!(router.n_groups(), 0);
        assert_eq!(router.next_flush(), None);
    }
    // Resolved before anyone was told: nothing is sent about it.
    let mut router = router(true);
    let a = alert(&[("job", "etl"), ("task", "a")], 0);
    router.ingest(&a, at(0));
    router.ingest(&resolved(a, 10), at(10));
    assert!(router.flush(&[], at(30)).is_empty());
    // A resolution of an alert no group holds starts nothing.
    router.ingest(&resolved(alert(&[("job", "x")], 0), 40), at(40));
    assert_eq!(router.n_groups(), 0);
}

#[test]
fn silenced_alerts_are_held_back_until_the_silence_ends() {
    let mut router = router(false);
    router.ingest(&alert(&[("job", "nightly-etl"), ("task", "a")], 0), at(0));
    let silence = Silence {
        id: 7,
        matchers: Matchers::of([("job", "nightly-etl")]),
        starts_at: at(0),
        ends_at: at(1000),
    };
    let silences = [silence];
    assert!(run(&mut router, &silences, 0, 999).is_empty());
    let sent = run(&mut router, &silences, 1000, 1230);
    assert_eq!(sent.len(), 1, "at the first tick after the silence");
    assert_eq!(sent[0].at, at(1230));
}

#[test]
fn a_lost_worker_inhibits_the_task_failures_it_caused() {
    let mut router = router(false);
    let lost = alert(
        &[
            ("alertname", "WorkerLost"),
            ("job", "etl"),
            ("worker", "w1"),
        ],
        0,
    );
    let failed_w1 = alert(
        &[
            ("alertname", "TaskFailed"),
            ("job", "etl"),
            ("task", "a"),
            ("worker", "w1"),
        ],
        0,
    );
    let failed_w2 = alert(
        &[
            ("alertname", "TaskFailed"),
            ("job", "etl"),
            ("task", "b"),
            ("worker", "w2"),
        ],
        0,
    );
    for a in [&lost, &failed_w1, &failed_w2] {
        router.ingest(a, at(0));
    }
    let sent = router.flush(&[], at(30));
    let alertnames: Vec<(&str, &str)> = sent[0]
        .firing
        .iter()
        .map(|a| (a.label("alertname"), a.label("worker")))
        .collect();
    assert_eq!(alertnames, [("TaskFailed", "w2"), ("WorkerLost", "w1")]);
}

#[test]
fn a_thousand_failing_runs_make_one_message_per_group() {
    let mut router = Router::new(
        Route {
            receiver: Some("hook".to_owned()),
            group_by: Some(vec!["alertname".to_owned()]),
            ..Route::default()
        },
        Vec::new(),
    );
    for i in 0..1000 {
        let job = format!("job-{i}");
        router.ingest(
            &alert(&[("alertname", "RunFailed"), ("job", job.as_str())], i % 60),
            at(i % 60),
        );
    }
    let sent = run(&mut router, &[], 0, 60);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].firing.len(), 1000);
}

#[test]
fn continued_routes_keep_separate_groups_and_keys() {
    let mut router = Router::new(
        Route {
            receiver: Some("hook".to_owned()),
            group_by: Some(vec!["job".to_owned()]),
            routes: vec![
                Route {
                    matchers: Matchers::of([("severity", "critical")]),
                    receiver: Some("ding".to_owned()),
                    group_wait: Some(TimeDelta::zero()),
                    continue_matching: true,
                    ..Route::default()
                },
                Route {
                    matchers: Matchers::of([("severity", "critical")]),
                    receiver: Some("mail".to_owned()),
                    ..Route::default()
                },
            ],
            ..Route::default()
        },
        Vec::new(),
    );
    router.ingest(
        &alert(&[("job", "pay"), ("severity", "critical")], 0),
        at(0),
    );
    let first = router.flush(&[], at(0));
    assert_eq!(first.len(), 1, "group_wait 0 sends at once");
    assert_eq!(first[0].receiver, "ding");
    let second = router.flush(&[], at(30));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].receiver, "mail");
    assert_ne!(first[0].dedup_key, second[0].dedup_key);
}

#[test]
fn timers_beyond_the_calendar_never_fire_and_never_panic() {
    let mut router = Router::new(
        Route {
            receiver: Some("hook".to_owned()),
            group_wait: Some(TimeDelta::MAX),
            ..Route::default()
        },
        Vec::new(),
    );
    router.ingest(&alert(&[("job", "etl")], 0), at(0));
    assert!(router.flush(&[], at(1_000_000)).is_empty());
    assert_eq!(router.next_flush(), Some(DateTime::<Utc>::MAX_UTC));
}
