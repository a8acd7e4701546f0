//! Helpers shared by the store's contract tests.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use orrery_core::ids::RunId;
use orrery_store::records::JobRecord;
use orrery_store::{JobApply, NewRun, RunSchedule, Store};

/// A fixed instant plus `seconds`.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
}

/// Applies `spec` as job `name` of project `default` and returns the job.
pub(crate) async fn job(store: &Store, name: &str, spec: &str) -> JobRecord {
    let apply = JobApply {
        project: "default",
        name,
        canonical_spec: spec,
        paused: None,
        actor: "test",
        now: at(0),
    };
    store.apply_job(&apply).await.expect("apply");
    store
        .find_job("default", name)
        .await
        .expect("find")
        .expect("job exists")
}

/// A run to create for `job` with tasks `names`.
pub(crate) fn run_of<'a>(
    job: &JobRecord,
    names: &'a [String],
    params: &'a serde_json::Map<String, serde_json::Value>,
    logical_date: Option<DateTime<Utc>>,
) -> NewRun<'a> {
    NewRun {
        job_id: job.id,
        job_version: job.latest_version,
        trigger: if logical_date.is_some() {
            orrery_core::state::RunTrigger::Schedule
        } else {
            orrery_core::state::RunTrigger::Manual
        },
        params,
        logical_date,
        schedule: RunSchedule {
            scheduled_at: logical_date,
            ..RunSchedule::default()
        },
        task_names: names,
        actor: "test",
        now: at(1),
        request: None,
        project: None,
    }
}

/// Task names `a`, `b`, … for `n` tasks.
pub(crate) fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap_or(0)).to_string())
        .collect()
}

/// Creates a run of `job` with tasks `names` and returns its id.
pub(crate) async fn create_run(
    store: &Store,
    job: &JobRecord,
    names: &[String],
    logical_date: Option<DateTime<Utc>>,
) -> RunId {
    let params = serde_json::Map::new();
    store
        .create_run(&run_of(job, names, &params, logical_date))
        .await
        .expect("create run")
}
