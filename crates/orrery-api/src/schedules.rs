//! Scheduled-job handlers: pause, resume, the occurrence ledger, backfill.

use crate::access::authorize;
use crate::auth::Actor;
use crate::convert::job_summary;
use crate::error::ApiError;
use crate::jobs::{ProjectQuery, find_job, job_not_found};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use orrery_access::{Action, Principal};
use orrery_client::types::{BackfillRequest, BackfillResult, JobSummary, Occurrence};
use orrery_core::schedule::compile;
use orrery_core::spec::{SpecFormat, parse_job_spec};
use orrery_store::{FireOutcome, NewBackfill, NewRun, RunSchedule};
use serde::Deserialize;

/// Stops the job's scheduled fires; fires while paused are recorded as `paused`.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/pause", params(("name" = String, Path), ProjectQuery),
    responses((status = 200, body = JobSummary), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn pause_job(
    state: State<AppState>,
    actor: Extension<Actor>,
    principal: Extension<Principal>,
    name: Path<String>,
    query: Query<ProjectQuery>,
) -> Result<Json<JobSummary>, ApiError> {
    set_paused(state, actor, principal, name, query, true).await
}

/// Resumes the job's scheduled fires; fires missed while paused follow the job's
/// misfire policy.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/resume", params(("name" = String, Path), ProjectQuery),
    responses((status = 200, body = JobSummary), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn resume_job(
    state: State<AppState>,
    actor: Extension<Actor>,
    principal: Extension<Principal>,
    name: Path<String>,
    query: Query<ProjectQuery>,
) -> Result<Json<JobSummary>, ApiError> {
    set_paused(state, actor, principal, name, query, false).await
}

async fn set_paused(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Query(query): Query<ProjectQuery>,
    paused: bool,
) -> Result<Json<JobSummary>, ApiError> {
    authorize(&principal, Action::JobPause, Some(query.project()), || {
        job_not_found(query.project(), &name)
    })?;
    let job = state
        .intents
        .set_paused(query.project(), &name, paused, &actor.0, state.clock.now())
        .await?
        .ok_or_else(|| job_not_found(query.project(), &name))?;
    state.scheduler_wake.notify_one();
    Ok(Json(job_summary(&job, None)))
}

/// `GET /jobs/{name}/occurrences` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OccurrenceQuery {
    project: Option<String>,
    /// Most entries, newest first; default 100, at most 10000.
    limit: Option<u32>,
}

/// What became of each nominal fire of the job, newest first.
#[utoipa::path(get, path = "/api/v1/jobs/{name}/occurrences", params(("name" = String, Path), OccurrenceQuery),
    responses((status = 200, body = [Occurrence]), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn list_occurrences(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    Query(query): Query<OccurrenceQuery>,
) -> Result<Json<Vec<Occurrence>>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 10000",
        ));
    }
    let project = query
        .project
        .as_deref()
        .unwrap_or(orrery_core::spec::DEFAULT_PROJECT);
    let job = find_job(&state, &principal, Action::JobRead, project, &name).await?;
    let entries = state.reads.list_occurrences(job.id, limit).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|o| Occurrence {
                nominal_at: o.nominal_at,
                outcome: o.outcome.as_str().to_owned(),
                run_id: o.run_id.map(|id| id.0),
                reason: o.reason,
                recorded_at: o.recorded_at,
            })
            .collect(),
    ))
}

/// Creates a run for every fire time of the job's schedule in `[from, to]`, oldest
/// first, at most `parallelism` active at once. Fires that already have a run are
/// left alone, so repeating a backfill creates nothing new.
#[utoipa::path(post, path = "/api/v1/jobs/{name}/backfill", params(("name" = String, Path)), request_body = BackfillRequest,
    responses((status = 201, body = BackfillResult), (status = 200, body = BackfillResult, description = "nothing new to create"),
        (status = 400, body = orrery_client::types::Problem), (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn backfill(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<BackfillResult>), ApiError> {
    let body = ApiError::limited_body(body, state.config.max_body_bytes)?;
    let request: BackfillRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            code: "invalid_json",
            detail: format!("the backfill request is not valid: {e}"),
            errors: Vec::new(),
        })?;
    if request.from > request.to {
        return Err(ApiError::invalid_field(
            "from",
            format!("{} is after to ({})", request.from, request.to),
        ));
    }
    let parallelism = request.parallelism.unwrap_or(1);
    if parallelism == 0 {
        return Err(ApiError::invalid_field("parallelism", "must be at least 1"));
    }
    let project = request
        .project
        .as_deref()
        .unwrap_or(orrery_core::spec::DEFAULT_PROJECT);
    let job = find_job(&state, &principal, Action::JobBackfill, project, &name).await?;
    let spec = parse_job_spec(&job.latest_spec, SpecFormat::Json).map_err(|e| {
        ApiError::Internal(format!("stored spec of job {name:?} does not parse: {e}"))
    })?;
    let Some(schedule) = &spec.schedule else {
        return Err(ApiError::BadRequest {
            code: "not_scheduled",
            detail: format!("job {name:?} has no schedule, so it has no fire times to backfill"),
            errors: Vec::new(),
        });
    };
    let compiled = compile(schedule, state.config.default_timezone).map_err(|e| {
        ApiError::Internal(format!(
            "stored schedule of job {name:?} does not compile: {e}"
        ))
    })?;
    let max = state.config.max_backfill_runs;
    let start = request.from - chrono::Duration::nanoseconds(1);
    let fires = compiled.fires_between(start, request.to, max + 1);
    if fires.len() > max {
        return Err(ApiError::BadRequest {
            code: "backfill_too_large",
            detail: format!(
                "the range holds more than {max} fire times (the limit, api.max_backfill_runs); narrow it"
            ),
            errors: Vec::new(),
        });
    }
    let now = state.clock.now();
    // Dates an `exclude:` calendar rules out get no run, as live fires do; the data
    // interval of the next fire still starts at the excluded one.
    let calendars = excluding_calendars(&state, project, &schedule.exclude).await?;
    let mut excluded = Vec::new();
    let mut kept = Vec::new();
    for at in &fires {
        let date = compiled.local_date(*at);
        match calendars.iter().find(|c| c.excludes(date)) {
            Some(calendar) => {
                excluded.push((*at, format!("{date} is in calendar {}", calendar.name)))
            }
            None => kept.push(*at),
        }
    }
    let task_names: Vec<String> = spec.tasks.iter().map(|t| t.name.clone()).collect();
    let params = serde_json::Map::new();
    let runs: Vec<NewRun<'_>> = kept
        .iter()
        .map(|&at| NewRun {
            job_id: job.id,
            job_version: job.latest_version,
            trigger: orrery_core::state::RunTrigger::Backfill,
            params: &params,
            logical_date: Some(at),
            schedule: RunSchedule {
                scheduled_at: None,
                // The same rule as a live fire: from the fire before it (excluded or
                // not), or from itself for the schedule's first fire.
                data_interval_start: Some(compiled.data_interval(at).0),
                data_interval_end: Some(at),
                backfill_id: None,
                rerun_of: None,
                parent: None,
            },
            task_names: &task_names,
            actor: &actor.0,
            now,
            request: None,
            project: None,
        })
        .collect();
    let new = NewBackfill {
        job_id: job.id,
        range_start: request.from,
        range_end: request.to,
        parallelism,
        rerun_failed: request.rerun_failed,
        excluded: &excluded,
        actor: &actor.0,
        now,
    };
    let (backfill_id, outcomes) = state.intents.create_backfill(&new, &runs).await?;
    state.scheduler_wake.notify_one();
    let created: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            FireOutcome::Created(id) => Some(id.0),
            _ => None,
        })
        .collect();
    let result = BackfillResult {
        backfill_id,
        fires: u32::try_from(fires.len()).unwrap_or(u32::MAX),
        created: u32::try_from(created.len()).unwrap_or(u32::MAX),
        existing: u32::try_from(outcomes.len() - created.len()).unwrap_or(u32::MAX),
        excluded: u32::try_from(excluded.len()).unwrap_or(u32::MAX),
        run_ids: created,
    };
    let status = if result.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(result)))
}

/// The calendars named by a schedule's `exclude:` in `project` (a calendar that is
/// gone excludes nothing, as for live fires).
async fn excluding_calendars(
    state: &AppState,
    project: &str,
    names: &[String],
) -> Result<Vec<orrery_core::spec::CalendarSpec>, ApiError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let stored = state.reads.list_calendars(project).await?;
    let mut calendars = Vec::new();
    for calendar in stored.into_iter().filter(|c| names.contains(&c.name)) {
        match orrery_core::spec::parse_document(&calendar.spec, SpecFormat::Json) {
            Ok(orrery_core::spec::SpecDocument::Calendar(parsed)) => calendars.push(parsed),
            _ => {
                return Err(ApiError::Internal(format!(
                    "stored calendar {:?} does not parse",
                    calendar.name
                )));
            }
        }
    }
    Ok(calendars)
}
