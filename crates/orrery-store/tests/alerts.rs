//! Alerting's storage on both backends: alert events stored with the scheduler's
//! changes, a pass that writes alerts, notifications and the router's cursor in one
//! transaction, the outbox's delivery states, silences and applied configs.

use chrono::{DateTime, Utc};
use orrery_store::test_support::{TestStore, leader_of};
use orrery_store::{
    AlertChange, AlertConfigRecord, AlertEventStatus, AlertPass, CalendarApplied, DeliveryResult,
    LabelMap, NewAlertEvent, NewNotification, NewSilence, NotificationState, backend_tests,
};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

fn labels(pairs: &[(&str, &str)]) -> LabelMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

backend_tests!(
    events_commit_with_changes_and_read_back_after_a_cursor,
    a_pass_writes_alerts_notifications_and_cursor_once,
    deliveries_move_notifications_through_their_states,
    silences_and_configs_are_audited_and_listed,
);

async fn events_commit_with_changes_and_read_back_after_a_cursor(test: TestStore) {
    let leader = leader_of(&test.store).await;
    let event = |job: &str, status| NewAlertEvent {
        project: "default".to_owned(),
        status,
        labels: labels(&[("alertname", "RunFailed"), ("job", job)]),
        annotations: labels(&[("run", "7")]),
        at: at(1),
    };
    leader
        .commit_changes(
            &mut [],
            &[],
            &[
                event("a", AlertEventStatus::Firing),
                event("a", AlertEventStatus::ResolveJob),
            ],
        )
        .await
        .expect("commit");
    leader
        .raise_alert_events(&[event("b", AlertEventStatus::Firing)])
        .await
        .expect("raise");
    let all = leader.alert_events_after(0, 100).await.expect("read");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].event, event("a", AlertEventStatus::Firing));
    assert_eq!(all[1].event.status, AlertEventStatus::ResolveJob);
    let after = leader
        .alert_events_after(all[1].seq, 100)
        .await
        .expect("read");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].event.labels["job"], "b");
    assert_eq!(
        leader.alert_events_after(0, 1).await.expect("read").len(),
        1
    );
}

async fn a_pass_writes_alerts_notifications_and_cursor_once(test: TestStore) {
    let leader = leader_of(&test.store).await;
    assert_eq!(leader.alert_router_state().await.expect("state"), None);
    let firing = AlertChange {
        project: "default".to_owned(),
        fingerprint: "fp1".to_owned(),
        labels: labels(&[("alertname", "RunFailed"), ("job", "etl")]),
        annotations: labels(&[("run", "1")]),
        starts_at: at(1),
        resolved_at: None,
    };
    let notification = NewNotification {
        project: "default".to_owned(),
        receiver: "hook".to_owned(),
        dedup_key: "hook/0/x#1".to_owned(),
        payload: "{}".to_owned(),
    };
    let pass = AlertPass {
        cursor: 4,
        router_state: "{\"groups\":[]}",
        alerts: std::slice::from_ref(&firing),
        notifications: std::slice::from_ref(&notification),
        now: at(2),
    };
    leader.commit_alert_pass(&pass).await.expect("pass");
    // A replay of the same pass (a crash after commit is impossible to tell from one
    // before) queues nothing twice and keeps one firing row.
    let mut repeat = firing.clone();
    repeat.annotations = labels(&[("run", "2")]);
    leader
        .commit_alert_pass(&AlertPass {
            cursor: 5,
            alerts: std::slice::from_ref(&repeat),
            ..pass.clone()
        })
        .await
        .expect("again");
    assert_eq!(
        leader.alert_router_state().await.expect("state"),
        Some((5, "{\"groups\":[]}".to_owned()))
    );
    let store = &test.store;
    let alerts = store
        .list_alerts("default", Some(true), 10)
        .await
        .expect("alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].annotations["run"], "2");
    assert_eq!(alerts[0].alertname, "RunFailed");
    let history = store
        .list_notifications("default", 10)
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, NotificationState::Pending);

    // Resolving ends the row; a new firing of the same labels is a new row.
    let mut resolved = firing.clone();
    resolved.resolved_at = Some(at(3));
    let mut again = firing.clone();
    again.starts_at = at(4);
    for change in [resolved, again] {
        leader
            .commit_alert_pass(&AlertPass {
                cursor: 6,
                alerts: std::slice::from_ref(&change),
                notifications: &[],
                ..pass.clone()
            })
            .await
            .expect("pass");
    }
    let all = store
        .list_alerts("default", None, 10)
        .await
        .expect("alerts");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].resolved_at, Some(at(3)));
    assert_eq!(all[0].resolved_at, None);
    assert_eq!(leader.firing_alerts().await.expect("firing").len(), 1);
}

async fn deliveries_move_notifications_through_their_states(test: TestStore) {
    let leader = leader_of(&test.store).await;
    let notifications: Vec<NewNotification> = (0..3)
        .map(|n| NewNotification {
            project: "default".to_owned(),
            receiver: "hook".to_owned(),
            dedup_key: format!("k{n}"),
            payload: format!("{{\"n\":{n}}}"),
        })
        .collect();
    leader
        .commit_alert_pass(&AlertPass {
            cursor: 1,
            router_state: "{}",
            alerts: &[],
            notifications: &notifications,
            now: at(0),
        })
        .await
        .expect("pass");
    let due = leader.due_notifications(at(0), 10).await.expect("due");
    assert_eq!(due.len(), 3);
    assert_eq!(
        leader.outbox_depth().await.expect("depth"),
        (3, Some(at(0)))
    );
    let results = [
        (
            due[0].id,
            DeliveryResult::Sent {
                response: "200 ok".to_owned(),
            },
        ),
        (
            due[1].id,
            DeliveryResult::Retry {
                error: "503".to_owned(),
                at: at(30),
            },
        ),
        (
            due[2].id,
            DeliveryResult::Failed {
                error: "404".to_owned(),
            },
        ),
    ];
    leader
        .record_deliveries(&results, at(1))
        .await
        .expect("record");
    assert!(
        leader
            .due_notifications(at(29), 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        leader.next_notification_due().await.expect("next"),
        Some(at(30))
    );
    let retry = leader.due_notifications(at(30), 10).await.expect("due");
    assert_eq!(retry.len(), 1);
    assert_eq!(
        (retry[0].attempts, retry[0].last_error.as_deref()),
        (1, Some("503"))
    );
    // A result for a notification no longer pending changes nothing.
    leader
        .record_deliveries(
            &[(
                due[0].id,
                DeliveryResult::Failed {
                    error: "late".to_owned(),
                },
            )],
            at(2),
        )
        .await
        .expect("record");
    let history = test
        .store
        .list_notifications("default", 10)
        .await
        .expect("history");
    let by_key = |key: &str| history.iter().find(|n| n.dedup_key == key).cloned();
    let sent = by_key("k0").expect("k0");
    assert_eq!(sent.state, NotificationState::Sent);
    assert_eq!(sent.response.as_deref(), Some("200 ok"));
    assert_eq!(sent.finished_at, Some(at(1)));
    assert_eq!(
        by_key("k2").map(|n| n.state),
        Some(NotificationState::Failed)
    );
}

async fn silences_and_configs_are_audited_and_listed(test: TestStore) {
    let store = &test.store;
    let matchers = labels(&[("job", "nightly-etl")]);
    let id = store
        .create_silence(
            &NewSilence {
                project: "default",
                matchers: &matchers,
                starts_at: at(0),
                ends_at: at(7200),
                comment: "db migration",
                actor: "alice",
            },
            at(0),
        )
        .await
        .expect("silence");
    let leader = leader_of(store).await;
    assert_eq!(leader.live_silences(at(10)).await.expect("live").len(), 1);
    assert!(
        store
            .expire_silence("default", id, "bob", at(20))
            .await
            .expect("expire")
    );
    assert!(
        !store
            .expire_silence("default", id, "bob", at(21))
            .await
            .expect("again")
    );
    assert!(
        !store
            .expire_silence("other", id, "bob", at(21))
            .await
            .expect("other")
    );
    assert!(leader.live_silences(at(30)).await.expect("live").is_empty());
    let listed = store
        .silences_of(Some("default"), None)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].ends_at, at(20));

    let config = AlertConfigRecord {
        project: "default".to_owned(),
        kind: "Receiver".to_owned(),
        name: "hook".to_owned(),
        spec: "{\"webhook\":{}}".to_owned(),
        updated_at: at(0),
    };
    let applied = store
        .apply_alert_config(&config, "alice")
        .await
        .expect("apply");
    assert_eq!(applied, CalendarApplied::Created);
    let applied = store
        .apply_alert_config(&config, "alice")
        .await
        .expect("apply");
    assert_eq!(applied, CalendarApplied::Unchanged);
    assert_eq!(leader.alert_configs().await.expect("configs"), vec![config]);
    let audit = store.list_audit(100).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in ["silence.create", "silence.expire", "receiver.create"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}
