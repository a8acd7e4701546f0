//! Run control beyond start and cancel: rerun (whole or from the failed tasks), retry
//! one task of an ended run, mark a task by hand, and the DAG view.

use crate::auth::Actor;
use crate::error::ApiError;
use crate::jobs::{ProjectQuery, find_job};
use crate::runs::{find_run, load_run, parse_run_id, run_not_found};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{
    Graph, GraphEdge, GraphNode, RerunRequest, Run, TaskMarkRequest, TaskRetryRequest,
};
use orrery_core::dag::Dag;
use orrery_core::ids::RunId;
use orrery_core::rerun::{downstream_to_reset, kept_by_rerun_from_failed};
use orrery_core::spec::{JobSpec, SpecFormat, parse_job_spec};
use orrery_core::state::TaskState;
use orrery_store::records::{RunRecord, TaskRecord};
use orrery_store::{KeptTask, NewRun, RunSchedule, TaskReset};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Starts a new run with the same params and logical date, linked to this one. With
/// `from_failed`, tasks that succeeded are kept with their outputs and only the rest
/// (and what depends on them) runs again.
#[utoipa::path(post, path = "/api/v1/runs/{id}/rerun", params(("id" = i64, Path)), request_body = RerunRequest,
    responses((status = 201, body = Run), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn rerun(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let request: RerunRequest = json_body(&state, body)?.unwrap_or_default();
    let (run, latest, spec, dag) =
        load_ended_or_active(&state, &principal, Action::RunRerun, &id).await?;
    let mut kept = Vec::new();
    if request.from_failed {
        let states: Vec<TaskState> = latest.iter().map(|t| t.state).collect();
        let keep = kept_by_rerun_from_failed(&dag, &states, |idx| {
            latest
                .get(idx)
                .is_some_and(|t| spec.is_handler(&t.task_name))
        });
        for idx in keep {
            if let Some(task) = latest.get(idx) {
                kept.push(KeptTask {
                    task_name: task.task_name.clone(),
                    outputs: task.outputs.clone(),
                    exit_code: task.exit_code,
                });
            }
        }
    }
    let task_names: Vec<String> = spec.tasks.iter().map(|t| t.name.clone()).collect();
    let new = NewRun {
        job_id: run.job_id,
        job_version: run.job_version,
        trigger: orrery_core::state::RunTrigger::Rerun,
        params: &run.params,
        logical_date: run.logical_date,
        schedule: RunSchedule {
            scheduled_at: None,
            data_interval_start: run.data_interval_start,
            data_interval_end: run.data_interval_end,
            backfill_id: None,
            rerun_of: Some(run.id),
            parent: None,
        },
        task_names: &task_names,
        actor: &actor.0,
        now: state.clock.now(),
        request: None,
        project: None,
    };
    let rerun_id = state.intents.create_rerun(&new, &kept).await?;
    state.scheduler_wake.notify_one();
    Ok((StatusCode::CREATED, Json(load_run(&state, rerun_id).await?)))
}

/// Runs one task of an ended run again; the tasks after it that never ran run too,
/// and with `downstream` every task after it. The run is queued again.
#[utoipa::path(post, path = "/api/v1/runs/{id}/tasks/{task}/retry", params(("id" = i64, Path), ("task" = String, Path)),
    request_body = TaskRetryRequest,
    responses((status = 202, body = Run), (status = 404, body = orrery_client::types::Problem),
        (status = 409, body = orrery_client::types::Problem, description = "the run is still active")))]
pub(crate) async fn retry_task(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path((id, task)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let request: TaskRetryRequest = json_body(&state, body)?.unwrap_or_default();
    let (run, latest, _, dag) =
        load_ended_or_active(&state, &principal, Action::TaskRetry, &id).await?;
    let idx = task_index(&dag, &run, &task)?;
    let mut resets = vec![TaskReset {
        task_name: task.clone(),
        state: "pending",
        note: Some(format!("retried by {}", actor.0)),
    }];
    resets.extend(downstream_resets(&dag, &latest, idx, request.downstream));
    reopen(&state, &actor, run.id, &resets, "task.retry").await
}

/// Marks a task of an ended run `success` or `skipped` by hand (recorded with who did
/// it); tasks after it that did not run then run, and the run carries on.
#[utoipa::path(post, path = "/api/v1/runs/{id}/tasks/{task}/mark", params(("id" = i64, Path), ("task" = String, Path)),
    request_body = TaskMarkRequest,
    responses((status = 202, body = Run), (status = 400, body = orrery_client::types::Problem),
        (status = 409, body = orrery_client::types::Problem, description = "the run is still active")))]
pub(crate) async fn mark_task(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path((id, task)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let request: TaskMarkRequest = json_body(&state, body)?
        .ok_or_else(|| ApiError::invalid_field("state", "required: success or skipped"))?;
    let mark = match request.state.as_str() {
        "success" => "success",
        "skipped" => "skipped",
        other => {
            return Err(ApiError::invalid_field(
                "state",
                format!("{other:?} cannot be set by hand; use success or skipped"),
            ));
        }
    };
    let (run, latest, _, dag) =
        load_ended_or_active(&state, &principal, Action::TaskMark, &id).await?;
    let idx = task_index(&dag, &run, &task)?;
    let mut resets = vec![TaskReset {
        task_name: task.clone(),
        state: mark,
        note: Some(format!("marked {mark} by {}", actor.0)),
    }];
    resets.extend(downstream_resets(&dag, &latest, idx, false));
    reopen(&state, &actor, run.id, &resets, "task.mark").await
}

/// `GET /jobs/{name}/graph` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GraphQuery {
    project: Option<String>,
    /// Show each task's state in this run (and the job version it ran).
    run: Option<i64>,
}

/// The job's DAG: tasks and dependency edges, with states when a run is given.
#[utoipa::path(get, path = "/api/v1/jobs/{name}/graph", params(("name" = String, Path), GraphQuery),
    responses((status = 200, body = Graph), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn graph(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Query(query): Query<GraphQuery>,
) -> Result<Json<Graph>, ApiError> {
    let project = ProjectQuery {
        project: query.project.clone(),
    };
    let job = find_job(
        &state,
        &principal,
        Action::JobRead,
        project.project(),
        &name,
    )
    .await?;
    let (spec, version, latest) = match query.run {
        Some(run_id) => {
            let run = state
                .reads
                .get_run(RunId(run_id))
                .await?
                .filter(|r| r.job_id == job.id)
                .ok_or_else(|| run_not_found(RunId(run_id)))?;
            let spec = spec_of(&state, &run).await?;
            let latest = latest_attempts(&state.reads.run_tasks(run.id).await?, &spec);
            (spec, run.job_version, Some(latest))
        }
        None => (
            parse_stored(&job.latest_spec, &name)?,
            job.latest_version,
            None,
        ),
    };
    let nodes = spec
        .tasks
        .iter()
        .enumerate()
        .map(|(idx, task)| GraphNode {
            name: task.name.clone(),
            task_type: task.kind.type_name().to_owned(),
            state: latest
                .as_ref()
                .and_then(|l| l.get(idx))
                .map(|t| t.state.as_str().to_owned()),
        })
        .collect();
    let edges = spec
        .tasks
        .iter()
        .flat_map(|task| {
            task.depends_on.iter().map(|up| GraphEdge {
                from: up.clone(),
                to: task.name.clone(),
            })
        })
        .collect();
    Ok(Json(Graph {
        job: name,
        version,
        run_id: query.run,
        nodes,
        edges,
    }))
}

/// A JSON body, or `None` when it is empty.
pub(crate) fn json_body<T: DeserializeOwned>(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<Option<T>, ApiError> {
    let body = ApiError::limited_body(body, state.config.max_body_bytes)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            detail: format!("the request body is not valid: {e}"),
            errors: Vec::new(),
        })
}

async fn load_ended_or_active(
    state: &AppState,
    principal: &Principal,
    action: Action,
    id: &str,
) -> Result<(RunRecord, Vec<TaskRecord>, JobSpec, Dag), ApiError> {
    let id = parse_run_id(id)?;
    let run = find_run(state, principal, action, id).await?;
    let spec = spec_of(state, &run).await?;
    let latest = latest_attempts(&state.reads.run_tasks(id).await?, &spec);
    let dag = Dag::from_spec(&spec);
    Ok((run, latest, spec, dag))
}

async fn spec_of(state: &AppState, run: &RunRecord) -> Result<JobSpec, ApiError> {
    let text = state
        .reads
        .job_version_spec(run.job_id, run.job_version)
        .await?;
    parse_stored(&text, &run.job_name)
}

fn parse_stored(text: &str, job: &str) -> Result<JobSpec, ApiError> {
    parse_job_spec(text, SpecFormat::Json)
        .map_err(|e| ApiError::Internal(format!("stored spec of job {job:?} does not parse: {e}")))
}

/// The latest attempt of each task, in spec order (see `rerun::latest_attempts`).
fn latest_attempts(all: &[TaskRecord], spec: &JobSpec) -> Vec<TaskRecord> {
    let own: Vec<&TaskRecord> = all.iter().filter(|t| t.map_index.is_none()).collect();
    let positions = orrery_core::rerun::latest_attempts(
        spec.tasks.len(),
        own.iter().map(|t| (t.task_idx as usize, t.attempt)),
    );
    positions
        .into_iter()
        .flatten()
        .filter_map(|position| own.get(position).map(|t| (*t).clone()))
        .collect()
}

fn task_index(dag: &Dag, run: &RunRecord, task: &str) -> Result<usize, ApiError> {
    dag.index_of(task).ok_or_else(|| ApiError::NotFound {
        what: format!("task {task:?} in run {}", run.id),
    })
}

/// Tasks after `idx` to run again (see `rerun::downstream_to_reset`), as resets.
fn downstream_resets(
    dag: &Dag,
    latest: &[TaskRecord],
    idx: usize,
    everything: bool,
) -> Vec<TaskReset> {
    let states: Vec<TaskState> = latest.iter().map(|t| t.state).collect();
    downstream_to_reset(dag, &states, idx, everything)
        .into_iter()
        .filter_map(|d| latest.get(d))
        .map(|t| TaskReset {
            task_name: t.task_name.clone(),
            state: "pending",
            note: None,
        })
        .collect()
}

async fn reopen(
    state: &AppState,
    actor: &Actor,
    run_id: RunId,
    resets: &[TaskReset],
    action: &str,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    state
        .intents
        .reopen_run(run_id, resets, action, &actor.0, state.clock.now())
        .await?;
    state.scheduler_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(load_run(state, run_id).await?)))
}
