//! The run writer on real stores: runs queued together share a batch, and a run that
//! cannot be stored fails only its own request.

use super::intake::{RunIntake, RunIntent};
use chrono::{DateTime, Utc};
use orrery_core::ids::JobId;
use orrery_core::state::RunTrigger;
use orrery_store::test_support::TestStore;
use orrery_store::{JobApply, RunSchedule, backend_tests};

backend_tests!(runs_queued_together_are_stored_and_a_bad_one_fails_alone);

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

fn intent(job_id: JobId) -> RunIntent {
    RunIntent {
        job_id,
        job_version: 1,
        trigger: RunTrigger::Manual,
        params: serde_json::Map::new(),
        logical_date: Some(at(0)),
        schedule: RunSchedule::default(),
        task_names: vec!["a".to_owned(), "b".to_owned()],
        actor: "test".to_owned(),
        now: at(1),
        request: None,
        project: None,
    }
}

async fn runs_queued_together_are_stored_and_a_bad_one_fails_alone(test: TestStore) {
    let store = &test.store;
    store
        .apply_job(&JobApply {
            project: "default",
            name: "tick",
            canonical_spec: "{}",
            paused: None,
            actor: "test",
            now: at(0),
        })
        .await
        .expect("apply");
    let job = store
        .find_job("default", "tick")
        .await
        .expect("find")
        .expect("the job exists");
    let intake = RunIntake::spawn(store.api_intents());
    // All three are queued before the writer runs (one thread): one batch, in which
    // the run of a job that does not exist breaks the transaction.
    let (first, missing, second) = tokio::join!(
        intake.create(intent(job.id)),
        intake.create(intent(JobId(9_999))),
        intake.create(intent(job.id)),
    );
    assert!(missing.is_err(), "a run of no job is refused: {missing:?}");
    for created in [first, second] {
        let (run, tasks) = created.expect("stored");
        let stored = store.run_tasks(run).await.expect("read");
        let ids: Vec<_> = stored.iter().map(|t| t.id).collect();
        assert_eq!(ids, tasks.iter().map(|t| Some(*t)).collect::<Vec<_>>());
        assert_eq!(
            store.get_run(run).await.expect("read").map(|r| r.job_id),
            Some(job.id)
        );
    }
}
