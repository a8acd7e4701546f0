//! The store's promise that a scheduled run is unique per (job, logical date), checked
//! against generated sequences of scheduled fires (repeated, as a second scheduler
//! would), backfills over overlapping ranges, manual runs and reruns, on both backends.

mod common;

use chrono::{DateTime, Utc};
use common::{at, names};
use orrery_core::state::RunTrigger;
use orrery_store::test_support::TestStore;
use orrery_store::{
    JobApply, JobFires, NewBackfill, NewRun, PlannedFire, RunListFilter, RunSchedule, backend_tests,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::{BTreeMap, BTreeSet};

backend_tests!(a_logical_date_has_one_scheduled_or_backfilled_run_whatever_the_order);

/// Logical dates used: hours 0..DATES.
const DATES: i64 = 6;
/// Generated sequences per backend.
const CASES: usize = 24;

#[derive(Clone, Debug)]
enum Op {
    Fire(i64),
    Backfill(i64, i64),
    Manual(i64),
    RerunLatest(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..DATES).prop_map(Op::Fire),
        (0..DATES, 0..DATES).prop_map(|(a, b)| Op::Backfill(a.min(b), a.max(b))),
        (0..DATES).prop_map(Op::Manual),
        (0..DATES).prop_map(Op::RerunLatest),
    ]
}

fn hour(h: i64) -> DateTime<Utc> {
    at(h * 3600)
}

async fn a_logical_date_has_one_scheduled_or_backfilled_run_whatever_the_order(test: TestStore) {
    let store = &test.store;
    let leader = orrery_store::test_support::leader_of(store).await;
    // A fixed seed: the same sequences on every run, varied across cases.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let sequences = proptest::collection::vec(op(), 1..12);
    let task_names = names(1);
    let params = serde_json::Map::new();
    for case in 0..CASES {
        let ops = sequences
            .new_tree(&mut runner)
            .expect("a generated sequence")
            .current();
        let name = format!("job-{case}");
        store
            .apply_job(&JobApply {
                project: "default",
                name: &name,
                canonical_spec: "{}",
                paused: None,
                actor: "test",
                now: at(0),
            })
            .await
            .expect("apply");
        let job = store
            .find_job("default", &name)
            .await
            .expect("find")
            .expect("job");
        let new_run = |trigger: RunTrigger, h: i64, rerun_of| NewRun {
            job_id: job.id,
            job_version: 1,
            trigger,
            params: &params,
            logical_date: Some(hour(h)),
            schedule: RunSchedule {
                scheduled_at: Some(hour(h)),
                rerun_of,
                ..RunSchedule::default()
            },
            task_names: &task_names,
            actor: "test",
            now: at(1),
            request: None,
            project: None,
        };
        let mut promised = BTreeSet::new();
        for op in &ops {
            match *op {
                Op::Fire(h) => {
                    let batch = [JobFires {
                        job_id: job.id,
                        version: 1,
                        fires: vec![PlannedFire {
                            nominal_at: hour(h),
                            outcome: orrery_core::state::FireFate::Fired,
                            reason: None,
                            run: Some(new_run(RunTrigger::Schedule, h, None)),
                        }],
                        next_fire_at: Some(hour(h + 1)),
                    }];
                    leader.record_fires(&batch, &[], at(2)).await.expect("fire");
                    promised.insert(h);
                }
                Op::Backfill(from, to) => {
                    let runs: Vec<NewRun<'_>> = (from..=to)
                        .map(|h| new_run(RunTrigger::Backfill, h, None))
                        .collect();
                    store
                        .api_intents()
                        .create_backfill(
                            &NewBackfill {
                                job_id: job.id,
                                range_start: hour(from),
                                range_end: hour(to),
                                parallelism: 2,
                                rerun_failed: false,
                                excluded: &[],
                                actor: "test",
                                now: at(3),
                            },
                            &runs,
                        )
                        .await
                        .expect("backfill");
                    promised.extend(from..=to);
                }
                Op::Manual(h) => {
                    store
                        .create_run(&new_run(RunTrigger::Manual, h, None))
                        .await
                        .expect("a manual run shares its logical date freely");
                }
                Op::RerunLatest(h) => {
                    let runs = all_runs(store).await;
                    if let Some(latest) = runs
                        .iter()
                        .filter(|r| r.job_id == job.id && r.logical_date == Some(hour(h)))
                        .max_by_key(|r| r.id)
                    {
                        store
                            .create_run(&new_run(RunTrigger::Rerun, h, Some(latest.id)))
                            .await
                            .expect("a rerun stands beside its run");
                    }
                }
            }
        }
        let mut per_date: BTreeMap<i64, usize> = BTreeMap::new();
        for run in all_runs(store).await.iter().filter(|r| r.job_id == job.id) {
            let fired = matches!(run.trigger, RunTrigger::Schedule | RunTrigger::Backfill);
            if fired && run.rerun_of.is_none() {
                let h = run
                    .logical_date
                    .map(|d| (d - at(0)).num_hours())
                    .expect("a logical date");
                *per_date.entry(h).or_default() += 1;
            }
        }
        for h in 0..DATES {
            let expected = usize::from(promised.contains(&h));
            assert_eq!(
                per_date.get(&h).copied().unwrap_or(0),
                expected,
                "hour {h} after {ops:?}"
            );
        }
    }
}

async fn all_runs(store: &orrery_store::Store) -> Vec<orrery_store::records::RunRecord> {
    store
        .list_runs(&RunListFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("runs")
}
