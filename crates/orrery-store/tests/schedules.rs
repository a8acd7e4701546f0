//! The store's contract for schedules on both backends: timers, fires and their
//! ledger, pausing, calendars and backfills.

mod common;

use common::{at, create_run, job, names, run_of};
use orrery_core::state::RunState;
use orrery_store::test_support::TestStore;
use orrery_store::{
    CalendarApplied, FireOutcome, JobFires, JobTimer, NewBackfill, PlannedFire, RunUpdate,
    StoreError, backend_tests,
};

backend_tests!(
    timers_are_set_replaced_and_deleted,
    fires_create_a_run_and_a_ledger_entry_once_and_move_the_timer,
    a_batch_naming_a_job_twice_keeps_its_last_timer,
    a_fire_stored_after_a_pause_makes_no_run_and_holds_the_timer,
    pausing_is_audited_and_seen_by_the_cheap_poll,
    every_job_change_moves_the_change_count_and_timers_do_not,
    a_fire_is_reclassified_in_place_keeping_its_run,
    stored_timers_are_read_in_one_go_with_each_job,
    calendars_are_created_replaced_and_listed_by_name,
    backfills_create_missing_runs_and_rerun_failed_ones,
);

async fn timers_are_set_replaced_and_deleted(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "tick", "{}").await;
    assert_eq!(store.trigger(job.id).await.expect("trigger"), None);
    leader
        .set_trigger(job.id, 1, Some(at(60)), at(0))
        .await
        .expect("set");
    let trigger = store.trigger(job.id).await.expect("trigger").expect("set");
    assert_eq!((trigger.version, trigger.next_fire_at), (1, Some(at(60))));
    leader
        .set_trigger(job.id, 2, None, at(1))
        .await
        .expect("replace");
    let scheduled = store
        .scheduled_job(job.id)
        .await
        .expect("scheduled job")
        .expect("live job");
    let trigger = scheduled.trigger.expect("trigger");
    assert_eq!((trigger.version, trigger.next_fire_at), (2, None));
    assert_eq!(scheduled.job, job);
    let all = store.scheduled_jobs().await.expect("scheduled jobs");
    assert_eq!(all.len(), 1);
    leader.delete_trigger(job.id).await.expect("delete");
    assert_eq!(store.trigger(job.id).await.expect("trigger"), None);
    let scheduled = store
        .scheduled_job(job.id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(scheduled.trigger, None);
}

async fn fires_create_a_run_and_a_ledger_entry_once_and_move_the_timer(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "tick", "{}").await;
    let names = names(2);
    let params = serde_json::Map::new();
    let batch = |next: i64| {
        vec![JobFires {
            job_id: job.id,
            version: 1,
            fires: vec![
                PlannedFire {
                    nominal_at: at(100),
                    outcome: orrery_core::state::FireFate::Fired,
                    reason: None,
                    run: Some(run_of(&job, &names, &params, Some(at(100)))),
                },
                PlannedFire {
                    nominal_at: at(160),
                    outcome: orrery_core::state::FireFate::Missed,
                    reason: Some("the server was down".to_owned()),
                    run: None,
                },
            ],
            next_fire_at: Some(at(next)),
        }]
    };
    let stored = leader
        .record_fires(&batch(220), &[], at(200))
        .await
        .expect("fires");
    let run_id = match stored.outcomes[..] {
        [ref outcomes] => match outcomes[..] {
            [FireOutcome::Created(id), FireOutcome::Recorded] => id,
            ref other => panic!("unexpected outcomes {other:?}"),
        },
        ref other => panic!("one job expected, got {other:?}"),
    };
    let task_ids: Vec<_> = store
        .run_tasks(run_id)
        .await
        .expect("tasks")
        .iter()
        .filter_map(|t| t.id)
        .collect();
    assert_eq!(stored.created_tasks.get(&run_id), Some(&task_ids));
    let run = store.get_run(run_id).await.expect("get").expect("run");
    assert_eq!(
        (run.logical_date, run.scheduled_at, run.trigger.as_str()),
        (Some(at(100)), Some(at(100)), "schedule")
    );

    // Another process fires the same times: the run and the ledger stay as they are.
    let again = leader
        .record_fires(&batch(280), &[], at(201))
        .await
        .expect("fires");
    assert_eq!(
        again.outcomes,
        vec![vec![
            FireOutcome::AlreadyExisted(run_id),
            FireOutcome::Recorded
        ]]
    );
    assert!(again.created_tasks.is_empty());
    let ledger = store.list_occurrences(job.id, 10).await.expect("ledger");
    let summary: Vec<_> = ledger
        .iter()
        .map(|o| {
            (
                o.nominal_at,
                o.outcome.as_str(),
                o.run_id,
                o.reason.as_deref(),
                o.recorded_at,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                at(160),
                "missed",
                None,
                Some("the server was down"),
                at(200)
            ),
            (at(100), "fired", Some(run_id), None, at(200)),
        ]
    );
    assert_eq!(
        store
            .list_occurrences(job.id, 1)
            .await
            .expect("ledger")
            .len(),
        1
    );
    let trigger = store.trigger(job.id).await.expect("trigger").expect("set");
    assert_eq!(trigger.next_fire_at, Some(at(280)));
}

async fn a_fire_stored_after_a_pause_makes_no_run_and_holds_the_timer(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let other = job(store, "other", "{}").await;
    let job = job(store, "tick", "{}").await;
    let names = names(1);
    let params = serde_json::Map::new();
    let fire = |job: &orrery_store::records::JobRecord, second: i64| PlannedFire {
        nominal_at: at(second),
        outcome: orrery_core::state::FireFate::Fired,
        reason: None,
        run: Some(run_of(job, &names, &params, Some(at(second)))),
    };
    // The pause is committed; the scheduler planned its fires before it saw it.
    store
        .set_paused("default", "tick", true, "alice", at(5))
        .await
        .expect("pause")
        .expect("job");
    let batch = vec![
        JobFires {
            job_id: job.id,
            version: 1,
            fires: vec![fire(&job, 10), fire(&job, 20)],
            next_fire_at: Some(at(30)),
        },
        JobFires {
            job_id: other.id,
            version: 1,
            fires: vec![fire(&other, 10)],
            next_fire_at: Some(at(20)),
        },
    ];
    let stored = leader
        .record_fires(&batch, &[], at(21))
        .await
        .expect("fires");
    assert_eq!(
        stored.outcomes[0],
        vec![FireOutcome::Paused, FireOutcome::Paused]
    );
    assert!(
        matches!(stored.outcomes[1][..], [FireOutcome::Created(_)]),
        "{:?}",
        stored.outcomes
    );
    let ledger = store.list_occurrences(job.id, 10).await.expect("ledger");
    let summary: Vec<_> = ledger
        .iter()
        .map(|o| {
            (
                o.nominal_at,
                o.outcome.as_str(),
                o.run_id,
                o.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (at(20), "paused", None, Some(orrery_store::PAUSED_REASON)),
            (at(10), "paused", None, Some(orrery_store::PAUSED_REASON)),
        ]
    );
    // The timer stays at the first fire held back, for the misfire policy at resume.
    let trigger = store.trigger(job.id).await.expect("trigger").expect("set");
    assert_eq!(trigger.next_fire_at, Some(at(10)));
    let trigger = store
        .trigger(other.id)
        .await
        .expect("trigger")
        .expect("set");
    assert_eq!(trigger.next_fire_at, Some(at(20)));
}

async fn a_batch_naming_a_job_twice_keeps_its_last_timer(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "tick", "{}").await;
    let entry = |next: i64| JobFires {
        job_id: job.id,
        version: 1,
        fires: Vec::new(),
        next_fire_at: Some(at(next)),
    };
    leader
        .record_fires(&[entry(60), entry(120)], &[], at(0))
        .await
        .expect("fires");
    let trigger = store.trigger(job.id).await.expect("trigger").expect("set");
    assert_eq!(trigger.next_fire_at, Some(at(120)));
}

async fn stored_timers_are_read_in_one_go_with_each_job(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let timed = job(store, "timed", "{}").await;
    let plain = job(store, "plain", "{}").await;
    leader
        .set_trigger(timed.id, 1, Some(at(60)), at(0))
        .await
        .expect("set");
    let mut timers = store.job_timers().await.expect("timers");
    timers.sort_by_key(|t| t.job_id);
    assert_eq!(
        timers,
        vec![
            JobTimer {
                job_id: timed.id,
                version: 1,
                paused: false,
                timer: Some((1, Some(at(60)))),
            },
            JobTimer {
                job_id: plain.id,
                version: 1,
                paused: false,
                timer: None,
            },
        ]
    );
}

async fn pausing_is_audited_and_seen_by_the_cheap_poll(test: TestStore) {
    let store = &test.store;
    let job = job(store, "tick", "{}").await;
    assert_eq!(
        store.job_versions_brief().await.expect("brief"),
        vec![(job.id, 1, false)]
    );
    let paused = store
        .set_paused("default", "tick", true, "alice", at(5))
        .await
        .expect("pause")
        .expect("job");
    assert!(paused.paused);
    assert_eq!(paused.updated_at, at(5));
    assert_eq!(
        store.job_versions_brief().await.expect("brief"),
        vec![(job.id, 1, true)]
    );
    let audit = store.list_audit(1).await.expect("audit");
    assert_eq!(
        (
            audit[0].action.as_str(),
            audit[0].before_version,
            audit[0].after_version
        ),
        ("job.pause", Some(1), Some(1))
    );
    // A new version that does not mention pausing keeps the flag; one that does sets it.
    let apply = |spec: &'static str, paused: Option<bool>| orrery_store::JobApply {
        project: "default",
        name: "tick",
        canonical_spec: spec,
        paused,
        actor: "test",
        now: at(6),
    };
    store
        .apply_job(&apply("{\"v\":2}", None))
        .await
        .expect("apply");
    assert!(
        store
            .find_job("default", "tick")
            .await
            .expect("find")
            .expect("job")
            .paused
    );
    store
        .apply_job(&apply("{\"v\":3}", Some(false)))
        .await
        .expect("apply");
    assert!(
        !store
            .find_job("default", "tick")
            .await
            .expect("find")
            .expect("job")
            .paused
    );
    assert!(
        store
            .set_paused("default", "nope", true, "alice", at(7))
            .await
            .expect("pause")
            .is_none()
    );
}

async fn calendars_are_created_replaced_and_listed_by_name(test: TestStore) {
    let store = &test.store;
    for name in ["holidays", "Closures", "audits"] {
        assert_eq!(
            store
                .apply_calendar("default", name, "{\"dates\":[]}", "alice", at(0))
                .await
                .expect("create"),
            CalendarApplied::Created
        );
    }
    assert_eq!(
        store
            .apply_calendar("default", "holidays", "{\"dates\":[]}", "alice", at(1))
            .await
            .expect("unchanged"),
        CalendarApplied::Unchanged
    );
    assert_eq!(
        store
            .apply_calendar(
                "default",
                "holidays",
                "{\"dates\":[\"2027-01-01\"]}",
                "bob",
                at(2)
            )
            .await
            .expect("replace"),
        CalendarApplied::Updated
    );
    let calendars = store.list_calendars("default").await.expect("list");
    let listed: Vec<(&str, bool)> = calendars
        .iter()
        .map(|c| (c.name.as_str(), c.spec.contains("2027")))
        .collect();
    // Byte order on both backends: upper case first.
    assert_eq!(
        listed,
        vec![("Closures", false), ("audits", false), ("holidays", true)]
    );
    assert_eq!(calendars[2].updated_at, at(2));
    assert!(
        store
            .list_calendars("other")
            .await
            .expect("list")
            .is_empty()
    );
    let audit = store.list_audit(10).await.expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "calendar.update",
            "calendar.create",
            "calendar.create",
            "calendar.create"
        ]
    );
}

async fn backfills_create_missing_runs_and_rerun_failed_ones(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "daily", "{}").await;
    let names = names(1);
    let params = serde_json::Map::new();
    let original = create_run(store, &job, &names, Some(at(100))).await;
    leader
        .commit_changes(
            &mut [],
            &[RunUpdate {
                id: original,
                state: RunState::Failed,
                started_at: Some(at(101)),
                finished_at: Some(at(102)),
            }],
            &[],
        )
        .await
        .expect("fail the run");
    let backfill = |rerun_failed: bool| NewBackfill {
        job_id: job.id,
        range_start: at(100),
        range_end: at(200),
        parallelism: 3,
        rerun_failed,
        excluded: &[],
        actor: "alice",
        now: at(300),
    };
    let runs = vec![
        run_of(&job, &names, &params, Some(at(100))),
        run_of(&job, &names, &params, Some(at(200))),
    ];
    let (id, outcomes) = store
        .create_backfill(&backfill(true), &runs)
        .await
        .expect("backfill");
    let id = id.expect("a backfill that created runs is recorded");
    let (rerun, fresh) = match outcomes[..] {
        [FireOutcome::Created(rerun), FireOutcome::Created(fresh)] => (rerun, fresh),
        ref other => panic!("unexpected outcomes {other:?}"),
    };
    let rerun = store.get_run(rerun).await.expect("get").expect("run");
    assert_eq!(
        (rerun.rerun_of, rerun.backfill_id, rerun.logical_date),
        (Some(original), Some(id), Some(at(100)))
    );
    let fresh = store.get_run(fresh).await.expect("get").expect("run");
    assert_eq!((fresh.rerun_of, fresh.backfill_id), (None, Some(id)));
    assert_eq!(
        store.backfill_parallelism(id).await.expect("parallelism"),
        3
    );
    assert_eq!(
        store.list_audit(1).await.expect("audit")[0].action,
        "backfill.create"
    );

    // Every fire has a run now: nothing is written, not even the backfill.
    let (none, outcomes) = store
        .create_backfill(&backfill(false), &runs)
        .await
        .expect("backfill");
    assert_eq!(none, None);
    assert_eq!(
        outcomes,
        vec![
            FireOutcome::AlreadyExisted(original),
            FireOutcome::AlreadyExisted(fresh.id)
        ]
    );
    assert!(matches!(
        store.backfill_parallelism(id + 1).await,
        Err(StoreError::NotFound {
            kind: "backfill",
            ..
        })
    ));
}

async fn every_job_change_moves_the_change_count_and_timers_do_not(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let count = || async { store.jobs_change_count().await.expect("count") };
    let mut last = count().await;
    let job = job(store, "tick", "{}").await;
    moved(&mut last, count().await, "creating a job");
    let apply = |spec: &'static str| orrery_store::JobApply {
        project: "default",
        name: "tick",
        canonical_spec: spec,
        paused: None,
        actor: "test",
        now: at(6),
    };
    store.apply_job(&apply("{\"v\":2}")).await.expect("apply");
    moved(&mut last, count().await, "a new version");
    store
        .set_paused("default", "tick", true, "alice", at(7))
        .await
        .expect("pause");
    moved(&mut last, count().await, "pausing");
    store
        .set_paused("default", "tick", false, "alice", at(8))
        .await
        .expect("resume");
    moved(&mut last, count().await, "resuming");
    // The scheduler's own writes (timers, fires) are not job changes: polls stay cheap.
    leader
        .set_trigger(job.id, 2, Some(at(60)), at(9))
        .await
        .expect("timer");
    assert_eq!(count().await, last, "a timer moved the change count");
    assert!(
        store
            .delete_job("default", "tick", "alice", at(10))
            .await
            .expect("delete")
    );
    moved(&mut last, count().await, "deleting");
}

fn moved(last: &mut i64, now: i64, what: &str) {
    assert_ne!(now, *last, "{what} did not move the change count");
    *last = now;
}

async fn a_fire_is_reclassified_in_place_keeping_its_run(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    let job = job(store, "ahead", "{}").await;
    let names = names(1);
    let params = serde_json::Map::new();
    let batch = vec![JobFires {
        job_id: job.id,
        version: 1,
        fires: vec![PlannedFire {
            nominal_at: at(100),
            outcome: orrery_core::state::FireFate::Fired,
            reason: None,
            run: Some(run_of(&job, &names, &params, Some(at(100)))),
        }],
        next_fire_at: Some(at(160)),
    }];
    let stored = leader
        .record_fires(&batch, &[], at(99))
        .await
        .expect("fires");
    let Some([FireOutcome::Created(run_id)]) = stored.outcomes.first().map(Vec::as_slice) else {
        panic!("one run expected: {:?}", stored.outcomes);
    };
    assert!(
        leader
            .reclassify_fire(
                job.id,
                at(100),
                orrery_core::state::FireFate::Paused,
                "paused before its time"
            )
            .await
            .expect("reclassify")
    );
    let ledger = store.list_occurrences(job.id, 10).await.expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (
            ledger[0].outcome.as_str(),
            ledger[0].reason.as_deref(),
            ledger[0].run_id
        ),
        ("paused", Some("paused before its time"), Some(*run_id))
    );
    assert!(
        !leader
            .reclassify_fire(
                job.id,
                at(160),
                orrery_core::state::FireFate::Paused,
                "no such fire"
            )
            .await
            .expect("reclassify"),
        "a fire that never happened is not invented"
    );
}
