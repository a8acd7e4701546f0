//! Run handlers: start, list with filters and paging, get with task attempts, cancel.

use crate::access::{authorize, project_not_found};
use crate::auth::Actor;
use crate::convert;
use crate::error::ApiError;
use crate::intake::RunIntent;
use crate::jobs::find_job;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::SubsecRound;
use orrery_access::{Action, Principal};
use orrery_client::types::{Run, RunPage, StartRunRequest};
use orrery_core::ids::{RunId, TaskInstanceId};
use orrery_core::spec::{DEFAULT_PROJECT, SpecFormat, parse_job_spec};
use orrery_core::state::RunState;
use orrery_store::records::{RunRecord, TaskRecord};
use orrery_store::{RunListFilter, RunSchedule};
use serde::Deserialize;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

/// Starts a run of the job's latest version.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/runs", params(("name" = String, Path)), request_body = StartRunRequest,
    responses((status = 201, body = Run), (status = 400, body = orrery_client::types::Problem, description = "unknown param"),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn start_run(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let body = ApiError::limited_body(body, state.config.max_body_bytes)?;
    // An empty body means "no overrides", so `curl -X POST` works without a payload.
    let request: StartRunRequest = if body.iter().all(u8::is_ascii_whitespace) {
        StartRunRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            detail: format!("the run request is not valid: {e}"),
            errors: Vec::new(),
        })?
    };
    let project = request.project.as_deref().unwrap_or(DEFAULT_PROJECT);
    let job = find_job(&state, &principal, Action::RunStart, project, &name).await?;
    let spec = parse_job_spec(&job.latest_spec, SpecFormat::Json).map_err(|e| {
        ApiError::Internal(format!("stored spec of job {name:?} does not parse: {e}"))
    })?;
    let params = orrery_core::spec::resolve_params(&spec, &request.params).map_err(|errors| {
        let fields: Vec<orrery_client::types::FieldError> = errors
            .0
            .iter()
            .map(|e| orrery_client::types::FieldError {
                path: e.path.clone(),
                message: e.message.clone(),
                line: None,
                column: None,
            })
            .collect();
        ApiError::BadRequest {
            code: "invalid_params",
            detail: format!("the run's params are not valid: {errors}"),
            errors: fields,
        }
    })?;
    let task_names: Vec<String> = spec.tasks.iter().map(|t| t.name.clone()).collect();
    // Stored to the microsecond on every backend: the answer shows what a read shows.
    let now = state.clock.now().trunc_subsecs(6);
    let dates = manual_run_dates(&state, &spec, request.logical_date, now)?;
    let intent = RunIntent {
        job_id: job.id,
        job_version: job.latest_version,
        trigger: orrery_core::state::RunTrigger::Manual,
        params,
        logical_date: Some(dates.logical_date),
        schedule: RunSchedule {
            data_interval_start: Some(dates.interval_start),
            data_interval_end: Some(dates.logical_date),
            ..RunSchedule::default()
        },
        task_names,
        actor: actor.0,
        now,
        request: orrery_store::current_request(),
        project: Some(job.project.clone()),
    };
    let (run_id, task_ids) = state.run_intake.create(intent.clone()).await?;
    let (record, tasks) = created_run(&job, intent, run_id, &task_ids);
    let answer = convert::run(&record, &tasks);
    // This process's scheduler takes the run as it is; any other reads it from the
    // store when woken.
    if !(state.hand_over_run)(record, std::sync::Arc::new(spec), task_ids) {
        state.scheduler_wake.notify_one();
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// A run as it was just stored: queued, each task with its pending first attempt.
fn created_run(
    job: &orrery_store::records::JobRecord,
    intent: RunIntent,
    id: RunId,
    task_ids: &[TaskInstanceId],
) -> (RunRecord, Vec<TaskRecord>) {
    let tasks: Vec<TaskRecord> = intent
        .task_names
        .iter()
        .enumerate()
        .map(|(idx, name)| {
            let mut task = TaskRecord::pending(id, name, u32::try_from(idx).unwrap_or(u32::MAX));
            task.id = task_ids.get(idx).copied();
            task
        })
        .collect();
    let record = RunRecord {
        id,
        job_id: job.id,
        project: job.project.clone(),
        job_name: job.name.clone(),
        job_version: intent.job_version,
        state: RunState::Queued,
        trigger: intent.trigger,
        params: intent.params,
        logical_date: intent.logical_date,
        scheduled_at: intent.schedule.scheduled_at,
        data_interval_start: intent.schedule.data_interval_start,
        data_interval_end: intent.schedule.data_interval_end,
        backfill_id: intent.schedule.backfill_id,
        rerun_of: intent.schedule.rerun_of,
        parent_run_id: None,
        parent_task_id: None,
        cancel_requested: false,
        created_at: intent.now,
        created_by: intent.actor,
        started_at: None,
        finished_at: None,
    };
    (record, tasks)
}

/// The logical date and data interval of a manual run.
struct ManualDates {
    logical_date: chrono::DateTime<chrono::Utc>,
    interval_start: chrono::DateTime<chrono::Utc>,
}

/// A manual run of a scheduled job covers the latest due fire (or the date given),
/// with that fire's data interval; a job without a schedule covers the instant it
/// starts (or the date given).
fn manual_run_dates(
    state: &AppState,
    spec: &orrery_core::spec::JobSpec,
    requested: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ManualDates, ApiError> {
    let compiled = match &spec.schedule {
        Some(schedule) => Some(
            orrery_core::schedule::compile(schedule, state.config.default_timezone).map_err(
                |e| {
                    ApiError::Internal(format!(
                        "stored schedule of job {:?} does not compile: {e}",
                        spec.name
                    ))
                },
            )?,
        ),
        None => None,
    };
    let logical_date = requested
        .or_else(|| compiled.as_ref().and_then(|c| c.latest_due(now)))
        .unwrap_or(now);
    let interval_start = compiled
        .as_ref()
        .map_or(logical_date, |c| c.data_interval(logical_date).0);
    Ok(ManualDates {
        logical_date,
        interval_start,
    })
}

/// `GET /runs` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunListQuery {
    /// Only runs of this job.
    job: Option<String>,
    /// Only runs of this project.
    project: Option<String>,
    /// queued, running, success, failed or cancelled.
    state: Option<String>,
    /// Page size, 1 to 1000; default 50.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Runs, newest first.
#[utoipa::path(get, path = "/api/v1/runs", params(RunListQuery),
    responses((status = 200, body = RunPage), (status = 400, body = orrery_client::types::Problem)))]
pub(crate) async fn list_runs(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(query): Query<RunListQuery>,
) -> Result<Json<RunPage>, ApiError> {
    if let Some(project) = &query.project {
        authorize(&principal, Action::RunRead, Some(project), || {
            project_not_found(project)
        })?;
    }
    let run_state = query
        .state
        .as_deref()
        .map(|s| {
            RunState::parse(s).ok_or_else(|| {
                ApiError::invalid_field(
                    "state",
                    format!(
                        "unknown run state {s:?}; use queued, running, success, failed or cancelled"
                    ),
                )
            })
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let before_id = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>()
                .map(RunId)
                .map_err(|_| ApiError::invalid_field("cursor", "not a cursor returned by this API"))
        })
        .transpose()?;
    let filter = RunListFilter {
        project: query.project,
        projects: principal.visible_projects(),
        job: query.job,
        state: run_state,
        before_id,
        limit,
    };
    let runs = state.reads.list_runs(&filter).await?;
    let next_cursor = (runs.len() == limit as usize)
        .then(|| runs.last().map(|r| r.id.to_string()))
        .flatten();
    let items = runs.iter().map(|r| convert::run(r, &[])).collect();
    Ok(Json(RunPage { items, next_cursor }))
}

/// One run with every task attempt.
#[utoipa::path(get, path = "/api/v1/runs/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Run), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn get_run(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Run>, ApiError> {
    let id = parse_run_id(&id)?;
    let run = find_run(&state, &principal, Action::RunRead, id).await?;
    let tasks = state.reads.run_tasks(id).await?;
    Ok(Json(convert::run(&run, &tasks)))
}

/// Asks the scheduler to cancel a run: running processes are killed, pending tasks
/// are cancelled. Cancelling an ended run changes nothing.
#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", params(("id" = i64, Path)),
    responses((status = 202, body = Run), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn cancel_run(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    let id = parse_run_id(&id)?;
    find_run(&state, &principal, Action::RunCancel, id).await?;
    let run = state
        .intents
        .request_cancel(id, &actor.0, state.clock.now())
        .await?
        .ok_or_else(|| run_not_found(id))?;
    state.scheduler_wake.notify_one();
    let tasks = state.reads.run_tasks(id).await?;
    Ok((StatusCode::ACCEPTED, Json(convert::run(&run, &tasks))))
}

pub(crate) fn parse_run_id(text: &str) -> Result<RunId, ApiError> {
    text.parse::<i64>()
        .map(RunId)
        .map_err(|_| ApiError::NotFound {
            what: format!("run {text:?} (run ids are numbers)"),
        })
}

/// A run, once the caller may do `action` on it; a run of a project the caller cannot
/// see answers like one that does not exist.
pub(crate) async fn find_run(
    state: &AppState,
    principal: &Principal,
    action: Action,
    id: RunId,
) -> Result<orrery_store::records::RunRecord, ApiError> {
    let run = state
        .reads
        .get_run(id)
        .await?
        .ok_or_else(|| run_not_found(id))?;
    authorize(principal, action, Some(&run.project), || run_not_found(id))?;
    Ok(run)
}

pub(crate) async fn load_run(state: &AppState, id: RunId) -> Result<Run, ApiError> {
    let run = state
        .reads
        .get_run(id)
        .await?
        .ok_or_else(|| run_not_found(id))?;
    let tasks = state.reads.run_tasks(id).await?;
    Ok(convert::run(&run, &tasks))
}

pub(crate) fn run_not_found(id: RunId) -> ApiError {
    ApiError::NotFound {
        what: format!("run {id}"),
    }
}
